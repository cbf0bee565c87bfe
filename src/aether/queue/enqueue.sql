-- name: enqueue
-- %(tasks)s: a JSON array of {ord, task_type, agent, payload, priority, scheduled_at, max_attempts,
-- dedupe_key, workflow_id, step_name}. Creates missing agents rows, inserts the tasks (a live task with
-- the same dedupe_key wins), notifies idle workers, and returns one row per input: (ord, id).
-- A row whose id is NULL lost a race with a concurrent, then committed, transaction: run it again.
WITH input AS MATERIALIZED (
  SELECT x.ord, x.task_type, x.agent, coalesce(x.payload, '{}'::jsonb) AS payload,
         coalesce(x.priority, 1) AS priority,
         coalesce(x.scheduled_at, (now() AT TIME ZONE 'UTC')) AS scheduled_at,
         coalesce(x.max_attempts, 5) AS max_attempts, x.dedupe_key, x.workflow_id, x.step_name,
         nextval(pg_get_serial_sequence('tasks', 'id'))::integer AS id
  FROM json_to_recordset(%(tasks)s::json) AS x(
    ord integer, task_type varchar, agent varchar, payload jsonb, priority integer,
    scheduled_at timestamp, max_attempts integer, dedupe_key varchar, workflow_id uuid, step_name varchar)
),
names AS (
  SELECT DISTINCT agent FROM input
),
new_agents AS (
  INSERT INTO agents (name, type, status)
  SELECT n.agent, left(n.agent, 50), 'active' FROM names n
  WHERE NOT EXISTS (SELECT 1 FROM agents a WHERE a.name = n.agent)
  ON CONFLICT (name) DO NOTHING
  RETURNING id, name
),
agent_ids AS (
  SELECT id, name FROM new_agents
  UNION ALL
  SELECT a.id, a.name FROM agents a JOIN names n ON n.agent = a.name
),
inserted AS (
  INSERT INTO tasks (id, agent_id, agent_name, task_type, status, priority, payload, scheduled_at,
                     max_attempts, dedupe_key, workflow_id, step_name)
  SELECT i.id, g.id, i.agent, i.task_type, 'pending', i.priority, i.payload, i.scheduled_at,
         i.max_attempts, i.dedupe_key, i.workflow_id, i.step_name
  FROM input i JOIN agent_ids g ON g.name = i.agent
  ORDER BY i.ord
  ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'in_progress') DO NOTHING
  RETURNING id, dedupe_key, agent_name
),
notified AS (
  SELECT count(pg_notify('aether_tasks', d.agent_name)) AS n
  FROM (SELECT DISTINCT agent_name FROM inserted) d
)
SELECT i.ord,
       coalesce(
         ins.id,
         (SELECT min(o.id) FROM inserted o WHERE o.dedupe_key = i.dedupe_key),
         (SELECT t.id FROM tasks t
          WHERE t.dedupe_key = i.dedupe_key AND t.status IN ('pending', 'in_progress'))
       ) AS id,
       (SELECT n FROM notified) AS notified
FROM input i LEFT JOIN inserted ins ON ins.id = i.id
ORDER BY i.ord
