-- Credentials: sealed values per (agent, platform, credential key) (see aether.security.credentials)

-- name: agent_id_by_name
SELECT id FROM agents WHERE name = %(name)s

-- name: insert_credential
INSERT INTO credentials (agent_id, platform, credential_key, credential_value, expires_at)
VALUES (%(agent_id)s, %(platform)s, %(key)s, %(value)s, %(expires_at)s)
ON CONFLICT ((COALESCE(agent_id, 0)), platform, credential_key) DO NOTHING
RETURNING id

-- name: replace_credential
INSERT INTO credentials (agent_id, platform, credential_key, credential_value, expires_at)
VALUES (%(agent_id)s, %(platform)s, %(key)s, %(value)s, %(expires_at)s)
ON CONFLICT ((COALESCE(agent_id, 0)), platform, credential_key)
DO UPDATE SET credential_value = EXCLUDED.credential_value, expires_at = EXCLUDED.expires_at
RETURNING id

-- name: list_credentials
SELECT c.id, c.agent_id, a.name AS agent_name, c.platform, c.credential_key, c.credential_value,
       c.data_key_id, c.expires_at, c.created_at, c.updated_at
FROM credentials c LEFT JOIN agents a ON a.id = c.agent_id
WHERE (%(agent)s::TEXT IS NULL OR a.name = %(agent)s)
  AND (%(platform)s::TEXT IS NULL OR c.platform = %(platform)s)
ORDER BY a.name NULLS FIRST, c.platform, c.credential_key

-- name: credential_by_id
SELECT c.id, c.agent_id, a.name AS agent_name, c.platform, c.credential_key, c.credential_value,
       c.data_key_id, c.expires_at, c.created_at, c.updated_at
FROM credentials c LEFT JOIN agents a ON a.id = c.agent_id
WHERE c.id = %(id)s

-- name: credential_by_identity
SELECT c.id, c.agent_id, a.name AS agent_name, c.platform, c.credential_key, c.credential_value,
       c.data_key_id, c.expires_at, c.created_at, c.updated_at
FROM credentials c LEFT JOIN agents a ON a.id = c.agent_id
WHERE COALESCE(c.agent_id, 0) = COALESCE(%(agent_id)s::INTEGER, 0)
  AND c.platform = %(platform)s AND c.credential_key = %(key)s

-- name: credential_candidates
-- For use: the agent's own credential first, then the shared one (agent_id NULL); with no agent, every one.
SELECT c.id, c.agent_id, a.name AS agent_name, c.platform, c.credential_key, c.credential_value,
       c.data_key_id, c.expires_at
FROM credentials c LEFT JOIN agents a ON a.id = c.agent_id
WHERE c.platform = %(platform)s AND c.credential_key = %(key)s
  AND (%(agent)s::TEXT IS NULL OR a.name = %(agent)s OR c.agent_id IS NULL)
ORDER BY (c.agent_id IS NULL), c.id

-- name: credential_for_update
SELECT c.id, c.agent_id, a.name AS agent_name, c.platform, c.credential_key, c.credential_value,
       c.data_key_id, c.expires_at
FROM credentials c LEFT JOIN agents a ON a.id = c.agent_id
WHERE c.id = %(id)s
FOR UPDATE OF c

-- name: platform_credentials
SELECT c.id, c.agent_id, c.platform, c.credential_key, c.credential_value, c.data_key_id, c.expires_at
FROM credentials c
WHERE COALESCE(c.agent_id, 0) = COALESCE(%(agent_id)s::INTEGER, 0) AND c.platform = %(platform)s

-- name: update_credential_value
UPDATE credentials SET credential_value = %(value)s, expires_at = %(expires_at)s WHERE id = %(id)s

-- name: delete_credential
DELETE FROM credentials WHERE id = %(id)s RETURNING id

-- name: expiring_credentials
SELECT c.id, a.name AS agent_name, c.platform, c.credential_key, c.expires_at
FROM credentials c LEFT JOIN agents a ON a.id = c.agent_id
WHERE c.expires_at IS NOT NULL AND c.expires_at <= %(before)s
ORDER BY c.expires_at

-- name: set_refresh_actor
-- The refresh is recorded as the system's work unless the caller's transaction named an actor.
SELECT set_config('aether.actor', coalesce(nullif(current_setting('aether.actor', true), ''), 'system:refresh'), true)
