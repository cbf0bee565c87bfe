-- name: relaxed_commit
SET LOCAL synchronous_commit TO off

-- name: lock_limits
-- the concurrency limits that concern this claimer, locked so that limited claims never overlap
SELECT scope, name, max_running FROM task_limits
WHERE (scope = 'agent' AND (%(agents)s::varchar[] IS NULL OR name = ANY(%(agents)s::varchar[])))
   OR (scope = 'task_type' AND name = ANY(%(types)s::varchar[]))
ORDER BY scope, name
FOR UPDATE

-- name: claim
-- tasks of agents that are not 'active' (inactive, or in error awaiting a person) wait
WITH picked AS (
  SELECT id FROM tasks
  WHERE status = 'pending'
    AND (scheduled_at IS NULL OR scheduled_at <= (now() AT TIME ZONE 'UTC'))
    AND task_type = ANY(%(types)s::varchar[])
    AND (%(agents)s::varchar[] IS NULL OR agent_name = ANY(%(agents)s::varchar[]))
    AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = tasks.agent_id AND a.status IS DISTINCT FROM 'active')
  ORDER BY priority DESC, scheduled_at, id
  LIMIT %(batch)s
  FOR UPDATE SKIP LOCKED
)
UPDATE tasks t
SET status = 'in_progress', attempts = t.attempts + 1, started_at = (now() AT TIME ZONE 'UTC'),
    completed_at = NULL, lease_owner = %(worker)s,
    lease_expires_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => %(lease_s)s)
FROM picked WHERE t.id = picked.id
RETURNING t.*

-- name: claim_fast
-- one statement (one round trip on an autocommit connection): claims nothing when a limit concerns
-- this claimer, and the caller then takes the limited path
WITH picked AS (
  SELECT id FROM tasks
  WHERE status = 'pending'
    AND (scheduled_at IS NULL OR scheduled_at <= (now() AT TIME ZONE 'UTC'))
    AND task_type = ANY(%(types)s::varchar[])
    AND (%(agents)s::varchar[] IS NULL OR agent_name = ANY(%(agents)s::varchar[]))
    AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = tasks.agent_id AND a.status IS DISTINCT FROM 'active')
    AND NOT EXISTS (
      SELECT 1 FROM task_limits
      WHERE (scope = 'agent' AND (%(agents)s::varchar[] IS NULL OR name = ANY(%(agents)s::varchar[])))
         OR (scope = 'task_type' AND name = ANY(%(types)s::varchar[])))
  ORDER BY priority DESC, scheduled_at, id
  LIMIT %(batch)s
  FOR UPDATE SKIP LOCKED
)
UPDATE tasks t
SET status = 'in_progress', attempts = t.attempts + 1, started_at = (now() AT TIME ZONE 'UTC'),
    completed_at = NULL, lease_owner = %(worker)s,
    lease_expires_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => %(lease_s)s)
FROM picked WHERE t.id = picked.id
RETURNING t.*

-- name: running_counts
SELECT 'agent' AS scope, agent_name AS name, count(*) AS running FROM tasks
WHERE status = 'in_progress' AND agent_name = ANY(%(agents)s::varchar[])
GROUP BY agent_name
UNION ALL
SELECT 'task_type' AS scope, task_type AS name, count(*) AS running FROM tasks
WHERE status = 'in_progress' AND task_type = ANY(%(types)s::varchar[])
GROUP BY task_type

-- name: claim_candidates
SELECT id, agent_name, task_type FROM tasks
WHERE status = 'pending'
  AND (scheduled_at IS NULL OR scheduled_at <= (now() AT TIME ZONE 'UTC'))
  AND task_type = ANY(%(types)s::varchar[])
  AND (%(agents)s::varchar[] IS NULL OR agent_name = ANY(%(agents)s::varchar[]))
  AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = tasks.agent_id AND a.status IS DISTINCT FROM 'active')
  AND coalesce(agent_name, '') <> ALL(%(full_agents)s::varchar[])
  AND task_type <> ALL(%(full_types)s::varchar[])
ORDER BY priority DESC, scheduled_at, id
LIMIT %(scan)s
FOR UPDATE SKIP LOCKED

-- name: claim_ids
UPDATE tasks t
SET status = 'in_progress', attempts = t.attempts + 1, started_at = (now() AT TIME ZONE 'UTC'),
    completed_at = NULL, lease_owner = %(worker)s,
    lease_expires_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => %(lease_s)s)
WHERE t.id = ANY(%(ids)s::integer[]) AND t.status = 'pending'
RETURNING t.*

-- name: complete
-- %(done)s: JSON array of {id, attempt, result}; a task whose lease moved on (rescued) is left alone
UPDATE tasks t
SET status = 'completed', result = r.result, completed_at = (now() AT TIME ZONE 'UTC'),
    lease_expires_at = NULL
FROM json_to_recordset(%(done)s::json) AS r(id integer, attempt integer, result jsonb)
WHERE t.id = r.id AND t.attempts = r.attempt AND t.status = 'in_progress' AND t.lease_owner = %(worker)s
RETURNING t.*

-- name: fail
-- outcome: 'retry' (back to pending after delay_s unless out of attempts), 'failed', 'cancelled'
UPDATE tasks t
SET status = n.status,
    scheduled_at = CASE WHEN n.status = 'pending'
                        THEN (now() AT TIME ZONE 'UTC') + make_interval(secs => %(delay_s)s)
                        ELSE t.scheduled_at END,
    completed_at = CASE WHEN n.status = 'pending' THEN NULL ELSE (now() AT TIME ZONE 'UTC') END,
    last_error = jsonb_build_object(
      'message', %(message)s::text, 'traceback', %(traceback)s::text, 'attempt', t.attempts,
      'worker', t.lease_owner, 'at', (now() AT TIME ZONE 'UTC'), 'code', %(code)s::text, 'reason', %(reason)s::text),
    lease_expires_at = NULL
FROM (
  SELECT id, CASE
      WHEN %(outcome)s = 'cancelled' THEN 'cancelled'
      WHEN %(outcome)s = 'failed' OR attempts >= max_attempts THEN 'failed'
      ELSE 'pending' END AS status
  FROM tasks WHERE id = %(id)s
) n
WHERE t.id = n.id AND t.attempts = %(attempt)s AND t.status = 'in_progress' AND t.lease_owner = %(worker)s
RETURNING t.*

-- name: heartbeat
UPDATE tasks
SET lease_expires_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => %(lease_s)s)
WHERE id = ANY(%(ids)s::integer[]) AND status = 'in_progress' AND lease_owner = %(worker)s
RETURNING id, cancel_requested

-- name: release
-- claimed but never started (worker shutting down): back to pending, the attempt not counted
UPDATE tasks
SET status = 'pending', attempts = greatest(attempts - 1, 0), started_at = NULL, lease_owner = NULL,
    lease_expires_at = NULL
WHERE id = ANY(%(ids)s::integer[]) AND status = 'in_progress' AND lease_owner = %(worker)s
RETURNING id

-- name: rescue
-- running tasks whose worker stopped renewing the lease: retried at once, or failed when out of attempts
WITH expired AS (
  SELECT id FROM tasks
  WHERE status = 'in_progress' AND lease_expires_at < (now() AT TIME ZONE 'UTC')
  ORDER BY lease_expires_at
  LIMIT %(batch)s
  FOR UPDATE SKIP LOCKED
)
UPDATE tasks t
SET status = CASE WHEN t.cancel_requested THEN 'cancelled'
                  WHEN t.attempts >= t.max_attempts THEN 'failed'
                  ELSE 'pending' END,
    scheduled_at = CASE WHEN t.cancel_requested OR t.attempts >= t.max_attempts THEN t.scheduled_at
                        ELSE (now() AT TIME ZONE 'UTC') END,
    completed_at = CASE WHEN t.cancel_requested OR t.attempts >= t.max_attempts
                        THEN (now() AT TIME ZONE 'UTC') END,
    last_error = jsonb_build_object(
      'message', 'lease expired: worker ' || coalesce(t.lease_owner, '?') || ' stopped renewing it',
      'traceback', NULL, 'attempt', t.attempts, 'worker', t.lease_owner, 'at', (now() AT TIME ZONE 'UTC')),
    lease_expires_at = NULL
FROM expired WHERE t.id = expired.id
RETURNING t.*

-- name: next_due
-- when the earliest scheduled pending task this worker could run becomes due (seconds from now)
SELECT extract(epoch FROM (min(scheduled_at) - (now() AT TIME ZONE 'UTC')))::float8 AS wait_s FROM tasks
WHERE status = 'pending' AND task_type = ANY(%(types)s::varchar[])
  AND (%(agents)s::varchar[] IS NULL OR agent_name = ANY(%(agents)s::varchar[]))

