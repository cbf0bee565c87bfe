-- name: recent_workflows
-- The newest workflows, each with its episode (if it made one, or rendered it again) and its failed or
-- cancelled step.
SELECT w.workflow_id, w.definition_name, w.status, w.error_message, w.created_at, w.updated_at,
       e.id AS episode_id, e.title AS episode_title,
       f.step_name AS failed_step, f.status AS failed_status, f.error_details AS failed_details
  FROM workflow_instances w
  LEFT JOIN episode_renders r ON r.workflow_id = w.workflow_id
  LEFT JOIN episodes e ON e.workflow_id = w.workflow_id OR e.id = r.episode_id
  LEFT JOIN LATERAL (
        SELECT t.step_name, t.status, t.error_details
          FROM task_instances t
         WHERE t.workflow_id = w.workflow_id AND t.status IN ('failed', 'cancelled')
         ORDER BY (t.error_details IS NULL), t.completed_at DESC NULLS LAST, t.updated_at DESC
         LIMIT 1) f ON TRUE
 ORDER BY w.created_at DESC, w.workflow_id
 LIMIT %(limit)s

-- name: recent_tasks
-- The newest tasks but the periodic chores' (those are summed up by `chores`), with their episode.
SELECT t.id, t.task_type, t.agent_name, t.status, t.attempts, t.max_attempts, t.created_at, t.completed_at,
       t.workflow_id, t.step_name, t.last_error, e.id AS episode_id
  FROM tasks t
  LEFT JOIN episode_renders r ON r.workflow_id = t.workflow_id
  LEFT JOIN episodes e ON e.workflow_id = t.workflow_id OR e.id = r.episode_id
 WHERE t.workflow_id IS NOT NULL
    OR NOT EXISTS (SELECT 1 FROM periodic_tasks p WHERE p.task_type = t.task_type)
 ORDER BY t.id DESC
 LIMIT %(limit)s

-- name: chores
-- The periodic tasks (shows.tick every minute, maintenance ...): one line per task type.
SELECT t.task_type, count(*) AS runs,
       count(*) FILTER (WHERE t.status = 'failed') AS failed,
       count(*) FILTER (WHERE t.status IN ('pending', 'in_progress')) AS waiting,
       max(t.created_at) AS last_run,
       (array_agg(t.last_error ORDER BY t.id DESC) FILTER (WHERE t.status = 'failed'))[1] AS last_error
  FROM tasks t
 WHERE t.workflow_id IS NULL
   AND EXISTS (SELECT 1 FROM periodic_tasks p WHERE p.task_type = t.task_type)
 GROUP BY t.task_type
 ORDER BY t.task_type
