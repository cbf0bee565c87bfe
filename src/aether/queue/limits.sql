-- name: set_limit
INSERT INTO task_limits (scope, name, max_running) VALUES (%(scope)s, %(name)s, %(max_running)s)
ON CONFLICT (scope, name) DO UPDATE SET max_running = EXCLUDED.max_running

-- name: clear_limit
DELETE FROM task_limits WHERE scope = %(scope)s AND name = %(name)s

-- name: list_limits
SELECT l.scope, l.name, l.max_running,
       (SELECT count(*) FROM tasks t
        WHERE t.status = 'in_progress'
          AND ((l.scope = 'agent' AND t.agent_name = l.name) OR (l.scope = 'task_type' AND t.task_type = l.name))
       ) AS running
FROM task_limits l ORDER BY l.scope, l.name
