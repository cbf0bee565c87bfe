-- name: upsert_periodic
INSERT INTO periodic_tasks (name, cron, task_type, agent_name, payload, priority, max_attempts, enabled)
VALUES (%(name)s, %(cron)s, %(task_type)s, %(agent)s, %(payload)s, %(priority)s, %(max_attempts)s, %(enabled)s)
ON CONFLICT (name) DO UPDATE SET
  cron = EXCLUDED.cron, task_type = EXCLUDED.task_type, agent_name = EXCLUDED.agent_name,
  payload = EXCLUDED.payload, priority = EXCLUDED.priority, max_attempts = EXCLUDED.max_attempts,
  enabled = EXCLUDED.enabled
RETURNING id

-- name: ensure_periodic
INSERT INTO periodic_tasks (name, cron, task_type, agent_name, payload, priority, max_attempts, enabled)
VALUES (%(name)s, %(cron)s, %(task_type)s, %(agent)s, %(payload)s, %(priority)s, %(max_attempts)s, %(enabled)s)
ON CONFLICT (name) DO NOTHING
RETURNING id

-- name: remove_periodic
DELETE FROM periodic_tasks WHERE name = %(name)s

-- name: set_enabled
UPDATE periodic_tasks SET enabled = %(enabled)s WHERE name = %(name)s

-- name: list_periodic
SELECT id, name, cron, task_type, agent_name, payload, priority, max_attempts, enabled, last_tick_at, created_at
FROM periodic_tasks ORDER BY name

-- name: due_schedules
SELECT id, name, cron, task_type, agent_name, payload, priority, max_attempts, last_tick_at, created_at,
       (now() AT TIME ZONE 'UTC') AS db_now
FROM periodic_tasks WHERE enabled ORDER BY id

-- name: record_tick
INSERT INTO periodic_ticks (periodic_task_id, tick_at) VALUES (%(id)s, %(tick_at)s)
ON CONFLICT DO NOTHING
RETURNING periodic_task_id

-- name: link_tick
UPDATE periodic_ticks SET task_id = %(task_id)s WHERE periodic_task_id = %(id)s AND tick_at = %(tick_at)s

-- name: advance
UPDATE periodic_tasks SET last_tick_at = %(tick_at)s
WHERE id = %(id)s AND (last_tick_at IS NULL OR last_tick_at < %(tick_at)s)

-- name: prune_ticks
DELETE FROM periodic_ticks WHERE created_at < (now() AT TIME ZONE 'UTC') - make_interval(days => %(days)s)
