-- CPOA workflow engine and idempotency keys: what the seed tables of 0001 need beyond their columns.

-- Each step row carries its part of the definition, so any process (a worker without the definition
-- registered, a restarted gateway) can advance, resume or retry the workflow from the database alone.
ALTER TABLE task_instances ADD COLUMN IF NOT EXISTS input_spec JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE task_instances ADD COLUMN IF NOT EXISTS priority INTEGER NOT NULL DEFAULT 1;
ALTER TABLE task_instances ADD COLUMN IF NOT EXISTS max_attempts INTEGER NOT NULL DEFAULT 5
  CHECK (max_attempts >= 1);
ALTER TABLE task_instances ADD COLUMN IF NOT EXISTS position INTEGER NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS idx_workflow_instances_definition
  ON workflow_instances(definition_name, created_at DESC);

-- The claim of an in-flight key: only the holder of the token may complete or renew it.
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS owner_token UUID;
-- Headers replayed with a stored HTTP response (content-type, location).
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS response_headers JSONB;
