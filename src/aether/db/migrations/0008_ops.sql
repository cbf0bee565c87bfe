-- 0008: operations (aether.ops): the backup catalogue, maintenance runs, restore events, and the
-- periodic tasks that run backups and maintenance (the seed's "daily full backups, hourly incremental
-- backups, regular backup restoration testing", "index rebuilding weekly, statistics updates daily").
SET LOCAL timezone TO 'UTC';

-- ---------------------------------------------------------------------------------------------
-- backups: one row per base backup (physical, embedded server) or dump (logical, external database)
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS backups (
  id VARCHAR(64) PRIMARY KEY,
  kind VARCHAR(20) NOT NULL CHECK (kind IN ('full', 'incremental', 'logical')),
  parent_id VARCHAR(64) REFERENCES backups(id) ON DELETE CASCADE,
  status VARCHAR(20) NOT NULL DEFAULT 'running'
    CHECK (status IN ('running', 'completed', 'failed', 'removed')),
  location TEXT NOT NULL,
  offsite_url TEXT,
  offsite_copied_at TIMESTAMP,
  server_version VARCHAR(50),
  system_identifier VARCHAR(30),
  timeline INTEGER,
  start_lsn PG_LSN,
  end_lsn PG_LSN,
  start_wal VARCHAR(24),
  check_lsn PG_LSN,
  size_bytes BIGINT,
  row_counts JSONB,
  started_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  finished_at TIMESTAMP,
  verified_at TIMESTAMP,
  verify_status VARCHAR(20) CHECK (verify_status IN ('passed', 'failed')),
  verify_detail JSONB,
  error TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  CHECK ((kind = 'incremental') = (parent_id IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS idx_backups_status_finished ON backups (status, finished_at DESC);
CREATE INDEX IF NOT EXISTS idx_backups_parent_id ON backups (parent_id);

DROP TRIGGER IF EXISTS trg_backups_updated_at ON backups;
CREATE TRIGGER trg_backups_updated_at BEFORE UPDATE ON backups
  FOR EACH ROW EXECUTE FUNCTION aether_touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- maintenance_runs: every run of a maintenance job with its duration and outcome
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS maintenance_runs (
  id BIGSERIAL PRIMARY KEY,
  job VARCHAR(50) NOT NULL,
  outcome VARCHAR(20) NOT NULL DEFAULT 'running'
    CHECK (outcome IN ('running', 'succeeded', 'failed', 'skipped')),
  trigger VARCHAR(20) NOT NULL DEFAULT 'manual' CHECK (trigger IN ('manual', 'schedule')),
  started_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  finished_at TIMESTAMP,
  duration_ms NUMERIC,
  detail JSONB NOT NULL DEFAULT '{}'::jsonb,
  error TEXT,
  host VARCHAR(255),
  pid INTEGER
);
-- one running instance of a job at a time, across every machine
CREATE UNIQUE INDEX IF NOT EXISTS idx_maintenance_runs_running ON maintenance_runs (job) WHERE outcome = 'running';
CREATE INDEX IF NOT EXISTS idx_maintenance_runs_job_started ON maintenance_runs (job, started_at DESC);

-- ---------------------------------------------------------------------------------------------
-- restore_events: written into a restored database by `aether backup restore`; `aether credentials
-- review` compares credentials_before (metadata of the credentials the database had when it was
-- restored over, never their values) with the restored credentials
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS restore_events (
  id BIGSERIAL PRIMARY KEY,
  backup_id VARCHAR(64) NOT NULL,
  target_time TIMESTAMP,
  recovered_to TIMESTAMP,
  target_dir TEXT,
  credentials_before JSONB,
  restored_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  reviewed_at TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_restore_events_restored_at ON restore_events (restored_at DESC);

-- ---------------------------------------------------------------------------------------------
-- the schedule: periodic tasks (0002) of the `maintenance` agent, each running one job
-- ---------------------------------------------------------------------------------------------
INSERT INTO periodic_tasks (name, cron, task_type, agent_name, payload, priority, max_attempts)
VALUES
  ('ops.backup',                '7 * * * *',  'maintenance.run', 'maintenance', '{"job": "backup"}',                0, 2),
  ('ops.backup_verify',         '40 4 * * *', 'maintenance.run', 'maintenance', '{"job": "backup_verify"}',         0, 2),
  ('ops.analyze',               '15 3 * * *', 'maintenance.run', 'maintenance', '{"job": "analyze"}',               0, 2),
  ('ops.vacuum',                '25 3 * * *', 'maintenance.run', 'maintenance', '{"job": "vacuum"}',                0, 2),
  ('ops.reindex',               '35 3 * * 0', 'maintenance.run', 'maintenance', '{"job": "reindex"}',               0, 2),
  ('ops.prune_idempotency',     '5 2 * * *',  'maintenance.run', 'maintenance', '{"job": "prune_idempotency"}',     0, 2),
  ('ops.prune_sessions',        '10 2 * * *', 'maintenance.run', 'maintenance', '{"job": "prune_sessions"}',        0, 2),
  ('ops.prune_tasks',           '15 2 * * *', 'maintenance.run', 'maintenance', '{"job": "prune_tasks"}',           0, 2),
  ('ops.prune_workflows',       '20 2 * * *', 'maintenance.run', 'maintenance', '{"job": "prune_workflows"}',       0, 2),
  ('ops.prune_audit',           '25 2 * * *', 'maintenance.run', 'maintenance', '{"job": "prune_audit"}',           0, 2),
  ('ops.analytics_partitions',  '30 2 * * *', 'maintenance.run', 'maintenance', '{"job": "analytics_partitions"}',  0, 2),
  ('ops.rotate_logs',           '0 0 * * *',  'maintenance.run', 'maintenance', '{"job": "rotate_logs"}',           0, 2),
  ('ops.prune_maintenance_runs','45 2 * * *', 'maintenance.run', 'maintenance', '{"job": "prune_maintenance_runs"}',0, 2)
ON CONFLICT (name) DO NOTHING;
