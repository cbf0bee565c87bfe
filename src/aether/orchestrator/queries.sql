-- name: insert_workflow
INSERT INTO workflow_instances (definition_name, definition_version, status, params, context_data,
                                trigger_event_type, trigger_event_details, user_id, started_at)
VALUES (%(name)s, %(version)s, 'running', %(params)s, '{"steps": {}}'::jsonb,
        %(trigger_event_type)s, %(trigger_details)s, %(user_id)s, (now() AT TIME ZONE 'UTC'))
RETURNING workflow_id::text AS workflow_id

-- name: insert_steps
-- %(steps)s: a JSON array of {step_name, agent_name, task_type, depends_on, input_spec, priority,
-- max_attempts, position}; every step starts pending.
INSERT INTO task_instances (workflow_id, step_name, agent_name, task_type, status, depends_on, input_spec,
                            priority, max_attempts, position)
SELECT %(workflow_id)s::uuid, s.step_name, s.agent_name, s.task_type, 'pending',
       ARRAY(SELECT jsonb_array_elements_text(s.depends_on)), s.input_spec, s.priority, s.max_attempts, s.position
FROM jsonb_to_recordset(%(steps)s::jsonb) AS s(
  step_name varchar, agent_name varchar, task_type varchar, depends_on jsonb, input_spec jsonb,
  priority integer, max_attempts integer, position integer)

-- name: lock_workflow
-- Every change to a workflow's steps happens under this row lock (taken after any tasks row lock).
SELECT workflow_id::text AS workflow_id, definition_name, status, params
FROM workflow_instances WHERE workflow_id = %(workflow_id)s::uuid
FOR UPDATE

-- name: step_for_task
SELECT task_instance_id, workflow_id::text AS workflow_id, step_name, status
FROM task_instances WHERE task_id = %(task_id)s

-- name: claim_ready_steps
-- pending -> queued for every step whose dependencies have all completed; the conditional UPDATE
-- under the workflow lock is what keeps a fan-in step from being enqueued twice.
UPDATE task_instances t
SET status = 'queued', error_details = NULL
WHERE t.workflow_id = %(workflow_id)s::uuid
  AND t.status = 'pending'
  AND NOT EXISTS (
    SELECT 1 FROM task_instances d
    WHERE d.workflow_id = t.workflow_id AND d.step_name = ANY (t.depends_on) AND d.status <> 'completed'
  )
RETURNING t.step_name, t.agent_name, t.task_type, t.input_spec, t.priority, t.max_attempts, t.position

-- name: step_outputs
SELECT step_name, output_summary FROM task_instances
WHERE workflow_id = %(workflow_id)s::uuid AND status = 'completed'

-- name: set_step_tasks
-- %(steps)s: a JSON array of {step_name, task_id, input_params} for steps just enqueued.
UPDATE task_instances t
SET task_id = s.task_id, input_params = s.input_params, started_at = NULL, completed_at = NULL
FROM jsonb_to_recordset(%(steps)s::jsonb) AS s(step_name varchar, task_id integer, input_params jsonb)
WHERE t.workflow_id = %(workflow_id)s::uuid AND t.step_name = s.step_name

-- name: fail_steps_on_input
-- %(steps)s: a JSON array of {step_name, error_details}; queued steps whose inputs could not be resolved.
UPDATE task_instances t
SET status = 'failed', error_details = s.error_details, completed_at = (now() AT TIME ZONE 'UTC')
FROM jsonb_to_recordset(%(steps)s::jsonb) AS s(step_name varchar, error_details jsonb)
WHERE t.workflow_id = %(workflow_id)s::uuid AND t.step_name = s.step_name AND t.status = 'queued'

-- name: unqueue_steps
UPDATE task_instances SET status = 'pending'
WHERE workflow_id = %(workflow_id)s::uuid AND status = 'queued' AND step_name = ANY (%(steps)s::text[])

-- name: complete_step
UPDATE task_instances
SET status = 'completed', output_summary = %(output)s, completed_at = (now() AT TIME ZONE 'UTC'),
    started_at = coalesce(%(started_at)s, started_at), attempts = greatest(attempts, %(attempts)s)
WHERE task_instance_id = %(task_instance_id)s AND task_id = %(task_id)s
  AND status IN ('queued', 'in_progress', 'cancelled', 'failed')
RETURNING step_name

-- name: merge_context
UPDATE workflow_instances
SET context_data = jsonb_set(
  coalesce(context_data, '{}'::jsonb), '{steps}',
  coalesce(context_data -> 'steps', '{}'::jsonb) || jsonb_build_object(%(step_name)s::text, %(output)s::jsonb))
WHERE workflow_id = %(workflow_id)s::uuid

-- name: note_step_error
-- A failed attempt that will be retried: the step stays queued, its last error is kept.
UPDATE task_instances
SET error_details = %(error)s, attempts = greatest(attempts, %(attempts)s),
    started_at = coalesce(%(started_at)s, started_at)
WHERE task_instance_id = %(task_instance_id)s AND task_id = %(task_id)s AND status IN ('queued', 'in_progress')

-- name: end_step
-- A final failure (status failed) or a cancelled task (status cancelled).
UPDATE task_instances
SET status = %(status)s, error_details = %(error)s, completed_at = (now() AT TIME ZONE 'UTC'),
    attempts = greatest(attempts, %(attempts)s), started_at = coalesce(%(started_at)s, started_at)
WHERE task_instance_id = %(task_instance_id)s AND task_id = %(task_id)s AND status IN ('queued', 'in_progress')
RETURNING step_name

-- name: fail_workflow
UPDATE workflow_instances
SET status = 'failed', error_message = %(error)s, completed_at = (now() AT TIME ZONE 'UTC')
WHERE workflow_id = %(workflow_id)s::uuid AND status = 'running'

-- name: complete_workflow_if_done
UPDATE workflow_instances w
SET status = 'completed', completed_at = (now() AT TIME ZONE 'UTC'), error_message = NULL
WHERE w.workflow_id = %(workflow_id)s::uuid AND w.status = 'running'
  AND NOT EXISTS (
    SELECT 1 FROM task_instances t WHERE t.workflow_id = w.workflow_id AND t.status <> 'completed'
  )
RETURNING w.workflow_id

-- name: live_step_tasks
SELECT task_id FROM task_instances
WHERE workflow_id = %(workflow_id)s::uuid AND status IN ('queued', 'in_progress') AND task_id IS NOT NULL

-- name: lock_tasks
SELECT id FROM tasks WHERE id = ANY (%(ids)s::integer[]) ORDER BY id FOR UPDATE

-- name: cancel_steps
UPDATE task_instances t
SET status = 'cancelled', completed_at = (now() AT TIME ZONE 'UTC')
FROM task_instances old
WHERE t.task_instance_id = old.task_instance_id
  AND t.workflow_id = %(workflow_id)s::uuid AND t.status IN ('pending', 'queued', 'in_progress')
RETURNING t.step_name, old.status AS old_status, t.task_id

-- name: cancel_workflow
UPDATE workflow_instances
SET status = 'cancelled', error_message = %(reason)s, completed_at = (now() AT TIME ZONE 'UTC')
WHERE workflow_id = %(workflow_id)s::uuid AND status IN ('running', 'failed', 'pending')

-- name: reset_steps_for_retry
UPDATE task_instances
SET status = 'pending', completed_at = NULL
WHERE workflow_id = %(workflow_id)s::uuid AND status IN ('failed', 'cancelled')
RETURNING step_name

-- name: restart_workflow
UPDATE workflow_instances
SET status = 'running', error_message = NULL, completed_at = NULL,
    started_at = coalesce(started_at, (now() AT TIME ZONE 'UTC'))
WHERE workflow_id = %(workflow_id)s::uuid AND status IN ('failed', 'cancelled')

-- name: stranded_steps
-- Queued steps whose task already ended (or vanished) without the engine hearing of it.
SELECT ti.task_instance_id, ti.step_name, ti.task_id, t.id AS found_id, t.status AS task_status,
       t.result, t.last_error, t.attempts, t.started_at
FROM task_instances ti LEFT JOIN tasks t ON t.id = ti.task_id
WHERE ti.workflow_id = %(workflow_id)s::uuid AND ti.status IN ('queued', 'in_progress')
  AND (t.id IS NULL OR t.status IN ('completed', 'failed', 'cancelled'))

-- name: running_workflows
SELECT workflow_id::text AS workflow_id FROM workflow_instances WHERE status = 'running'
ORDER BY created_at LIMIT %(limit)s

-- name: find_workflows_by_prefix
SELECT workflow_id::text AS workflow_id FROM workflow_instances
WHERE workflow_id::text LIKE %(prefix)s || '%%' ORDER BY workflow_id LIMIT 2

-- name: list_workflows
SELECT w.workflow_id::text AS workflow_id, w.definition_name, w.definition_version, w.status,
       w.trigger_event_type, w.user_id, w.error_message, w.created_at, w.started_at, w.completed_at,
       count(t.task_instance_id) AS steps,
       count(t.task_instance_id) FILTER (WHERE t.status = 'completed') AS steps_completed
FROM workflow_instances w LEFT JOIN task_instances t ON t.workflow_id = w.workflow_id
WHERE (%(status)s::text IS NULL OR w.status = %(status)s::text)
  AND (%(name)s::text IS NULL OR w.definition_name = %(name)s::text)
GROUP BY w.workflow_id
ORDER BY w.created_at DESC, w.workflow_id
LIMIT %(limit)s OFFSET %(offset)s

-- name: get_workflow
SELECT workflow_id::text AS workflow_id, definition_name, definition_version, status, params, context_data,
       trigger_event_type, trigger_event_details, user_id, error_message, created_at, started_at,
       completed_at, updated_at
FROM workflow_instances WHERE workflow_id = %(workflow_id)s::uuid

-- name: get_steps
SELECT ti.step_name, ti.agent_name, ti.task_type, ti.depends_on, ti.position,
       CASE WHEN ti.status = 'queued' AND t.status = 'in_progress' THEN 'in_progress' ELSE ti.status END
         AS status,
       greatest(ti.attempts, CASE WHEN ti.status = 'queued' THEN coalesce(t.attempts, 0) ELSE 0 END) AS attempts,
       ti.task_id, ti.input_params, ti.output_summary, ti.error_details,
       CASE WHEN ti.status = 'queued' THEN t.started_at ELSE ti.started_at END AS started_at,
       ti.completed_at, ti.created_at, ti.updated_at
FROM task_instances ti LEFT JOIN tasks t ON t.id = ti.task_id
WHERE ti.workflow_id = %(workflow_id)s::uuid
ORDER BY ti.position, ti.step_name
