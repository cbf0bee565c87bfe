-- name: claim_run
INSERT INTO maintenance_runs (job, trigger, host, pid)
VALUES (%(job)s, %(trigger)s, %(host)s, %(pid)s)
ON CONFLICT (job) WHERE outcome = 'running' DO NOTHING
RETURNING id, started_at

-- name: running_run
SELECT id, host, pid, started_at FROM maintenance_runs WHERE job = %(job)s AND outcome = 'running'

-- name: abandon_run
UPDATE maintenance_runs
SET outcome = 'failed', finished_at = CURRENT_TIMESTAMP, error = %(error)s,
    duration_ms = EXTRACT(EPOCH FROM (CURRENT_TIMESTAMP - started_at)) * 1000
WHERE id = %(id)s AND outcome = 'running'

-- name: record_skipped
INSERT INTO maintenance_runs (job, trigger, host, pid, outcome, finished_at, duration_ms, detail)
VALUES (%(job)s, %(trigger)s, %(host)s, %(pid)s, 'skipped', CURRENT_TIMESTAMP, 0, %(detail)s)
RETURNING id, job, outcome, trigger, started_at, finished_at, duration_ms, detail, error

-- name: finish_run
UPDATE maintenance_runs
SET outcome = %(outcome)s, finished_at = CURRENT_TIMESTAMP, duration_ms = %(duration_ms)s, detail = %(detail)s,
    error = %(error)s
WHERE id = %(id)s
RETURNING id, job, outcome, trigger, started_at, finished_at, duration_ms, detail, error

-- name: last_runs
SELECT DISTINCT ON (job) id, job, outcome, trigger, started_at, finished_at, duration_ms, detail, error
FROM maintenance_runs
ORDER BY job, started_at DESC, id DESC

-- name: last_success
SELECT job, max(finished_at) AS finished_at
FROM maintenance_runs WHERE outcome = 'succeeded'
GROUP BY job

-- name: runs_of
SELECT id, job, outcome, trigger, started_at, finished_at, duration_ms, detail, error
FROM maintenance_runs WHERE job = %(job)s
ORDER BY started_at DESC, id DESC
LIMIT %(limit)s

-- name: prune_sessions
DELETE FROM user_sessions
WHERE session_id IN (
  SELECT session_id FROM user_sessions
  WHERE expires_at < LOCALTIMESTAMP OR revoked_at IS NOT NULL
  LIMIT %(batch)s
)

-- name: prune_tasks
-- Finished tasks past retention; tasks of a workflow still running stay (the workflow engine reads them).
DELETE FROM tasks
WHERE id IN (
  SELECT t.id FROM tasks t
  WHERE t.status IN ('completed', 'failed', 'cancelled')
    AND COALESCE(t.completed_at, t.updated_at, t.created_at) < LOCALTIMESTAMP - make_interval(secs => %(age_s)s)
    AND (t.workflow_id IS NULL OR NOT EXISTS (
      SELECT 1 FROM workflow_instances w WHERE w.workflow_id = t.workflow_id AND w.status IN ('pending', 'running')))
  ORDER BY t.id
  LIMIT %(batch)s
  FOR UPDATE SKIP LOCKED
)

-- name: prune_workflows
-- Finished workflows past retention; their steps and tasks go with them (ON DELETE CASCADE).
DELETE FROM workflow_instances
WHERE workflow_id IN (
  SELECT workflow_id FROM workflow_instances
  WHERE status IN ('completed', 'failed', 'cancelled')
    AND COALESCE(completed_at, updated_at, created_at) < LOCALTIMESTAMP - make_interval(secs => %(age_s)s)
  ORDER BY created_at
  LIMIT %(batch)s
  FOR UPDATE SKIP LOCKED
)

-- name: prune_maintenance_runs
DELETE FROM maintenance_runs
WHERE outcome <> 'running' AND started_at < LOCALTIMESTAMP - make_interval(secs => %(age_s)s)
  AND id NOT IN (SELECT DISTINCT ON (job) id FROM maintenance_runs ORDER BY job, started_at DESC, id DESC)

-- name: prune_audit
SELECT aether_audit_prune(make_interval(secs => %(age_s)s)) AS pruned

-- name: user_tables
SELECT c.oid::regclass::TEXT AS name, n.nspname AS schema, c.relname AS table_name, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
  AND c.relpersistence = 'p'
  AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid OR i.indrelid IN (
    SELECT inhrelid FROM pg_inherits WHERE inhparent = c.oid))
ORDER BY c.relname

-- name: relkind
SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(%(name)s)
