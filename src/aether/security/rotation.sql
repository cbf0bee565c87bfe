-- name: credentials_to_reseal
SELECT id, agent_id, platform, credential_key, credential_value, data_key_id
FROM credentials WHERE data_key_id <> %(active)s
ORDER BY id LIMIT %(limit)s FOR UPDATE

-- name: reseal_credential
UPDATE credentials SET credential_value = %(value)s WHERE id = %(id)s

-- name: count_on_retiring_keys
SELECT count(*) AS n FROM credentials c JOIN data_keys k ON k.key_id = c.data_key_id
WHERE k.status <> 'active'

-- name: retire_retiring_keys
UPDATE data_keys SET status = 'retired', wrapped_key = NULL, retired_at = (now() AT TIME ZONE 'UTC')
WHERE status = 'retiring' RETURNING key_id
