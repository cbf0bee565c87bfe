-- name: metrics_database
SELECT pg_database_size(current_database()) AS size_bytes, current_database() AS database,
       EXTRACT(EPOCH FROM (clock_timestamp() - pg_postmaster_start_time())) AS uptime_s

-- name: metrics_connections
SELECT COALESCE(NULLIF(application_name, ''), 'unknown') AS application, COALESCE(state, 'unknown') AS state,
       count(*) AS n
FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend'
GROUP BY 1, 2

-- name: metrics_queue
-- Due pending tasks by type and agent, and how long the oldest has waited.
SELECT t.task_type, COALESCE(t.agent_name, a.name, '') AS agent, count(*) AS depth,
       EXTRACT(EPOCH FROM (LOCALTIMESTAMP - min(COALESCE(t.scheduled_at, t.created_at)))) AS oldest_age_s
FROM tasks t LEFT JOIN agents a ON a.id = t.agent_id
WHERE t.status = 'pending' AND COALESCE(t.scheduled_at, t.created_at) <= LOCALTIMESTAMP
GROUP BY 1, 2

-- name: metrics_tasks
SELECT t.task_type, COALESCE(t.agent_name, a.name, '') AS agent, t.status, count(*) AS n
FROM tasks t LEFT JOIN agents a ON a.id = t.agent_id
GROUP BY 1, 2, 3

-- name: metrics_task_durations
-- Tasks finished in the last hour: count, failures, total run time and cumulative histogram buckets.
WITH d AS (
  SELECT t.task_type, COALESCE(t.agent_name, a.name, '') AS agent, t.status,
         GREATEST(EXTRACT(EPOCH FROM (t.completed_at - t.started_at)), 0)::FLOAT8 AS secs
  FROM tasks t LEFT JOIN agents a ON a.id = t.agent_id
  WHERE t.status IN ('completed', 'failed') AND t.completed_at >= LOCALTIMESTAMP - INTERVAL '1 hour'
    AND t.started_at IS NOT NULL
)
SELECT d.task_type, d.agent, count(*) AS n, count(*) FILTER (WHERE d.status = 'failed') AS failed,
       COALESCE(sum(d.secs), 0) AS total_s,
       ARRAY(SELECT count(*) FILTER (WHERE d2.secs <= b.le)
             FROM unnest(%(buckets)s::FLOAT8[]) WITH ORDINALITY AS b(le, i)
             CROSS JOIN d AS d2
             WHERE d2.task_type = d.task_type AND d2.agent = d.agent
             GROUP BY b.i ORDER BY b.i) AS buckets
FROM d
GROUP BY d.task_type, d.agent

-- name: metrics_workflows
SELECT definition_name, status, count(*) AS n FROM workflow_instances GROUP BY 1, 2

-- name: metrics_backups
SELECT kind, status, count(*) AS n FROM backups GROUP BY 1, 2

-- name: metrics_backup_times
SELECT
  (SELECT max(finished_at) FROM backups WHERE status = 'completed') AS last_completed,
  (SELECT max(finished_at) FROM backups WHERE status = 'completed' AND kind IN ('full', 'logical')) AS last_full,
  (SELECT max(verified_at) FROM backups WHERE verify_status = 'passed') AS last_verified,
  (SELECT count(*) FROM backups WHERE status = 'completed' AND offsite_copied_at IS NULL) AS not_offsite,
  (SELECT sum(size_bytes) FROM backups WHERE status = 'completed') AS size_bytes

-- name: metrics_archiver
SELECT archived_count, failed_count, last_archived_time, last_failed_time, current_setting('archive_mode') AS mode
FROM pg_stat_archiver

-- name: metrics_maintenance
SELECT DISTINCT ON (job) job, outcome, started_at, finished_at, duration_ms
FROM maintenance_runs
WHERE outcome <> 'running'
ORDER BY job, started_at DESC, id DESC

-- name: metrics_maintenance_success
SELECT job, max(finished_at) AS finished_at FROM maintenance_runs WHERE outcome = 'succeeded' GROUP BY job
