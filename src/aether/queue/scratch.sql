-- name: live_attempts
-- The attempts running now among these tasks: a scratch folder belongs to one attempt of one task.
SELECT id, attempts FROM tasks WHERE id = ANY(%(ids)s) AND status = 'in_progress'
