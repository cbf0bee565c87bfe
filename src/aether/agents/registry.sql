-- The agents registry (see aether.agents.registry)

-- name: insert_agent
INSERT INTO agents (name, type, status, config, status_changed_at)
VALUES (%(name)s, %(type)s, %(status)s, %(config)s, (now() AT TIME ZONE 'UTC'))
ON CONFLICT (name) DO NOTHING
RETURNING id, name, type, status, status_reason, status_changed_at, config, created_at, updated_at

-- name: list_agents
SELECT id, name, type, status, status_reason, status_changed_at, config, created_at, updated_at
FROM agents
WHERE (%(type)s::TEXT IS NULL OR type = %(type)s) AND (%(status)s::TEXT IS NULL OR status = %(status)s)
ORDER BY name

-- name: agent_by_name
SELECT id, name, type, status, status_reason, status_changed_at, config, created_at, updated_at
FROM agents WHERE name = %(name)s

-- name: agent_by_id
SELECT id, name, type, status, status_reason, status_changed_at, config, created_at, updated_at
FROM agents WHERE id = %(id)s

-- name: agent_by_name_for_update
SELECT id, name, type, status, status_reason, status_changed_at, config, created_at, updated_at
FROM agents WHERE name = %(name)s FOR UPDATE

-- name: update_agent
UPDATE agents SET name = %(name)s, config = %(config)s, status = %(status)s::VARCHAR, status_reason = %(reason)s::TEXT,
       status_changed_at = CASE WHEN status IS DISTINCT FROM %(status)s::VARCHAR
                                  OR status_reason IS DISTINCT FROM %(reason)s::TEXT
                                THEN (now() AT TIME ZONE 'UTC') ELSE status_changed_at END
WHERE id = %(id)s
RETURNING id, name, type, status, status_reason, status_changed_at, config, created_at, updated_at

-- name: set_status
UPDATE agents SET status = %(status)s, status_reason = %(reason)s, status_changed_at = (now() AT TIME ZONE 'UTC')
WHERE name = %(name)s
RETURNING id, name, type, status, status_reason, status_changed_at, config, created_at, updated_at

-- name: delete_agent
DELETE FROM agents WHERE name = %(name)s RETURNING id

-- name: agent_references
SELECT (SELECT count(*) FROM credentials WHERE agent_id = %(id)s) AS credentials,
       (SELECT count(*) FROM tasks WHERE agent_id = %(id)s) AS tasks,
       (SELECT count(*) FROM analytics WHERE agent_id = %(id)s) AS analytics

-- name: stopped_agents
SELECT name, status, status_reason FROM agents WHERE status IS DISTINCT FROM 'active' ORDER BY name
