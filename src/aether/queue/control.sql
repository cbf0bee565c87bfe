-- name: cancel
-- a pending task is cancelled at once; a running one is flagged (its worker tells the handler to stop)
UPDATE tasks t
SET status = CASE WHEN t.status = 'pending' THEN 'cancelled' ELSE t.status END,
    cancel_requested = TRUE,
    completed_at = CASE WHEN t.status = 'pending' THEN (now() AT TIME ZONE 'UTC') ELSE t.completed_at END,
    last_error = CASE WHEN t.status = 'pending'
                      THEN jsonb_build_object('message', 'cancelled', 'traceback', NULL, 'attempt', t.attempts,
                                              'worker', NULL, 'at', (now() AT TIME ZONE 'UTC'))
                      ELSE t.last_error END
FROM (SELECT id, status AS old_status FROM tasks WHERE id = %(id)s FOR UPDATE) o
WHERE t.id = o.id AND o.old_status IN ('pending', 'in_progress')
RETURNING t.*, o.old_status

-- name: retry
UPDATE tasks
SET status = 'pending', attempts = 0, cancel_requested = FALSE, scheduled_at = (now() AT TIME ZONE 'UTC'),
    started_at = NULL, completed_at = NULL, result = NULL, lease_owner = NULL, lease_expires_at = NULL
WHERE id = %(id)s AND status IN ('failed', 'cancelled')
RETURNING *

-- name: get_task
SELECT * FROM tasks WHERE id = %(id)s

-- name: list_tasks
SELECT id, task_type, agent_name, status, priority, attempts, max_attempts, scheduled_at, started_at,
       completed_at, created_at, workflow_id, step_name, lease_owner, last_error ->> 'message' AS last_error
FROM tasks
WHERE (%(status)s::varchar IS NULL OR status = %(status)s)
  AND (%(agent)s::varchar IS NULL OR agent_name = %(agent)s)
  AND (%(task_type)s::varchar IS NULL OR task_type = %(task_type)s)
  AND (%(workflow_id)s::uuid IS NULL OR workflow_id = %(workflow_id)s)
ORDER BY id DESC
LIMIT %(limit)s OFFSET %(offset)s

-- name: count_tasks
SELECT count(*) AS n FROM tasks
WHERE (%(status)s::varchar IS NULL OR status = %(status)s)
  AND (%(agent)s::varchar IS NULL OR agent_name = %(agent)s)
  AND (%(task_type)s::varchar IS NULL OR task_type = %(task_type)s)
  AND (%(workflow_id)s::uuid IS NULL OR workflow_id = %(workflow_id)s)

-- name: status_counts
SELECT status, count(*) AS n FROM tasks GROUP BY status ORDER BY status
