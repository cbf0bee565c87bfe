-- The seed's `tasks` table as a durable job queue (aether.queue): attempts and back-off, leases with
-- heartbeats, de-duplication, cancellation, the workflow step a task runs; concurrency limits per agent
-- and per task type; periodic (cron) tasks whose ticks fire exactly once.
SET LOCAL timezone TO 'UTC';

-- ---------------------------------------------------------------------------------------------
-- tasks: queue columns
-- ---------------------------------------------------------------------------------------------
ALTER TABLE tasks
  ADD COLUMN IF NOT EXISTS agent_name VARCHAR(100),
  ADD COLUMN IF NOT EXISTS attempts INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS max_attempts INTEGER NOT NULL DEFAULT 5,
  ADD COLUMN IF NOT EXISTS last_error JSONB,
  ADD COLUMN IF NOT EXISTS lease_owner VARCHAR(200),
  ADD COLUMN IF NOT EXISTS lease_expires_at TIMESTAMP,
  ADD COLUMN IF NOT EXISTS dedupe_key VARCHAR(255),
  ADD COLUMN IF NOT EXISTS cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
  ADD COLUMN IF NOT EXISTS workflow_id UUID REFERENCES workflow_instances(workflow_id) ON DELETE CASCADE,
  ADD COLUMN IF NOT EXISTS step_name VARCHAR(100);

-- scheduled_at keeps the seed's definition (no default): enqueue always sets it, and a row inserted by
-- hand with NULL is due at once (the claim treats NULL as now).

ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check
  CHECK (status IN ('pending', 'in_progress', 'completed', 'failed', 'cancelled'));
ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_attempts_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_attempts_check CHECK (attempts >= 0 AND max_attempts >= 1);

-- a second enqueue with the key of a live (pending or running) task returns that task
CREATE UNIQUE INDEX IF NOT EXISTS idx_tasks_dedupe_live ON tasks (dedupe_key)
  WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'in_progress');
-- claiming: due pending tasks, priority (higher first), then schedule, then id
CREATE INDEX IF NOT EXISTS idx_tasks_claim ON tasks (priority DESC, scheduled_at, id) WHERE status = 'pending';
-- rescuing: running tasks whose lease expired
CREATE INDEX IF NOT EXISTS idx_tasks_lease ON tasks (lease_expires_at) WHERE status = 'in_progress';
CREATE INDEX IF NOT EXISTS idx_tasks_workflow_id ON tasks (workflow_id) WHERE workflow_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------------
-- concurrency limits, enforced when tasks are claimed (across every worker)
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS task_limits (
  scope VARCHAR(20) NOT NULL CHECK (scope IN ('agent', 'task_type')),
  name VARCHAR(100) NOT NULL,
  max_running INTEGER NOT NULL CHECK (max_running >= 0),
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (scope, name)
);

-- ---------------------------------------------------------------------------------------------
-- periodic tasks: cron schedules; one row per fired tick makes each tick fire exactly once
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS periodic_tasks (
  id SERIAL PRIMARY KEY,
  name VARCHAR(100) NOT NULL UNIQUE,
  cron VARCHAR(100) NOT NULL,
  task_type VARCHAR(50) NOT NULL,
  agent_name VARCHAR(100) NOT NULL,
  payload JSONB NOT NULL DEFAULT '{}'::jsonb,
  priority INTEGER NOT NULL DEFAULT 1,
  max_attempts INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  last_tick_at TIMESTAMP,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS periodic_ticks (
  periodic_task_id INTEGER NOT NULL REFERENCES periodic_tasks(id) ON DELETE CASCADE,
  tick_at TIMESTAMP NOT NULL,
  task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (periodic_task_id, tick_at)
);
CREATE INDEX IF NOT EXISTS idx_periodic_ticks_created_at ON periodic_ticks (created_at);

DROP TRIGGER IF EXISTS trg_task_limits_updated_at ON task_limits;
CREATE TRIGGER trg_task_limits_updated_at BEFORE UPDATE ON task_limits
  FOR EACH ROW EXECUTE FUNCTION aether_touch_updated_at();
DROP TRIGGER IF EXISTS trg_periodic_tasks_updated_at ON periodic_tasks;
CREATE TRIGGER trg_periodic_tasks_updated_at BEFORE UPDATE ON periodic_tasks
  FOR EACH ROW EXECUTE FUNCTION aether_touch_updated_at();
