-- The whole schema of the two seed documents.
-- Tables of 004 (Aether Core Orchestrator) are exactly as the seed gives them; the tables that 000
-- (Aethercast data stores) names without columns are designed for the use it describes
-- (see docs/schema.md). Every naive TIMESTAMP is UTC: the database's time zone is set to UTC.

DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET timezone TO %L', current_database(), 'UTC');
END $$;
SET LOCAL timezone TO 'UTC';

-- ---------------------------------------------------------------------------------------------
-- 004: agents, tasks, credentials, assets, analytics (verbatim)
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS agents (
  id SERIAL PRIMARY KEY,
  name VARCHAR(100) UNIQUE NOT NULL,
  type VARCHAR(50) NOT NULL,
  status VARCHAR(20) DEFAULT 'inactive',
  config JSONB,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS tasks (
  id SERIAL PRIMARY KEY,
  agent_id INTEGER REFERENCES agents(id),
  task_type VARCHAR(50) NOT NULL,
  status VARCHAR(20) DEFAULT 'pending',
  priority INTEGER DEFAULT 1,
  payload JSONB,
  result JSONB,
  scheduled_at TIMESTAMP,
  started_at TIMESTAMP,
  completed_at TIMESTAMP,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS credentials (
  id SERIAL PRIMARY KEY,
  agent_id INTEGER REFERENCES agents(id),
  platform VARCHAR(50) NOT NULL,
  credential_key VARCHAR(100) NOT NULL,
  credential_value TEXT NOT NULL,
  expires_at TIMESTAMP,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS assets (
  id SERIAL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  type VARCHAR(50) NOT NULL,
  path VARCHAR(500),
  metadata JSONB,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS analytics (
  id SERIAL PRIMARY KEY,
  agent_id INTEGER REFERENCES agents(id),
  metric_name VARCHAR(100) NOT NULL,
  value NUMERIC,
  metadata JSONB,
  recorded_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX IF NOT EXISTS idx_tasks_status ON tasks(status);
CREATE INDEX IF NOT EXISTS idx_tasks_agent_id ON tasks(agent_id);
CREATE INDEX IF NOT EXISTS idx_credentials_agent_id ON credentials(agent_id);
CREATE INDEX IF NOT EXISTS idx_credentials_platform ON credentials(platform);
CREATE INDEX IF NOT EXISTS idx_analytics_agent_id ON analytics(agent_id);
CREATE INDEX IF NOT EXISTS idx_analytics_recorded_at ON analytics(recorded_at);

-- ---------------------------------------------------------------------------------------------
-- 000: API Gateway tables: users, user_sessions, subscribers
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS users (
  id SERIAL PRIMARY KEY,
  email VARCHAR(320) NOT NULL,
  password_hash TEXT NOT NULL,
  display_name VARCHAR(200),
  role VARCHAR(20) NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  is_active BOOLEAN NOT NULL DEFAULT TRUE,
  last_login_at TIMESTAMP,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_users_email ON users (lower(email));

CREATE TABLE IF NOT EXISTS user_sessions (
  session_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
  token_hash CHAR(64) NOT NULL UNIQUE,
  preferences JSONB NOT NULL DEFAULT '{}'::jsonb,
  user_agent TEXT,
  ip_address INET,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  last_seen_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  expires_at TIMESTAMP NOT NULL,
  revoked_at TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_user_sessions_user_id ON user_sessions(user_id);
CREATE INDEX IF NOT EXISTS idx_user_sessions_expires_at ON user_sessions(expires_at);

CREATE TABLE IF NOT EXISTS subscribers (
  id SERIAL PRIMARY KEY,
  email VARCHAR(320) NOT NULL,
  status VARCHAR(20) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'confirmed', 'unsubscribed')),
  confirmation_token_hash CHAR(64),
  unsubscribe_token_hash CHAR(64),
  subscribed_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  confirmed_at TIMESTAMP,
  unsubscribed_at TIMESTAMP,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_subscribers_email ON subscribers (lower(email));
CREATE UNIQUE INDEX IF NOT EXISTS idx_subscribers_confirmation_token
  ON subscribers(confirmation_token_hash) WHERE confirmation_token_hash IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS idx_subscribers_unsubscribe_token
  ON subscribers(unsubscribe_token_hash) WHERE unsubscribe_token_hash IS NOT NULL;

-- ---------------------------------------------------------------------------------------------
-- 000: CPOA workflow and task state
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS workflow_instances (
  workflow_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  definition_name VARCHAR(100) NOT NULL,
  definition_version INTEGER NOT NULL DEFAULT 1,
  status VARCHAR(20) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  params JSONB NOT NULL DEFAULT '{}'::jsonb,
  context_data JSONB NOT NULL DEFAULT '{}'::jsonb,
  trigger_event_type VARCHAR(50),
  trigger_event_details JSONB,
  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
  error_message TEXT,
  started_at TIMESTAMP,
  completed_at TIMESTAMP,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_workflow_instances_status ON workflow_instances(status);
CREATE INDEX IF NOT EXISTS idx_workflow_instances_created_at ON workflow_instances(created_at);
CREATE INDEX IF NOT EXISTS idx_workflow_instances_user_id ON workflow_instances(user_id);

CREATE TABLE IF NOT EXISTS task_instances (
  task_instance_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  workflow_id UUID NOT NULL REFERENCES workflow_instances(workflow_id) ON DELETE CASCADE,
  step_name VARCHAR(100) NOT NULL,
  agent_name VARCHAR(100) NOT NULL,
  task_type VARCHAR(50) NOT NULL,
  status VARCHAR(20) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'queued', 'in_progress', 'completed', 'failed', 'cancelled', 'skipped')),
  depends_on TEXT[] NOT NULL DEFAULT '{}',
  attempts INTEGER NOT NULL DEFAULT 0,
  input_params JSONB,
  output_summary JSONB,
  error_details JSONB,
  task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL,
  started_at TIMESTAMP,
  completed_at TIMESTAMP,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  UNIQUE (workflow_id, step_name)
);
CREATE INDEX IF NOT EXISTS idx_task_instances_status ON task_instances(status);
CREATE INDEX IF NOT EXISTS idx_task_instances_task_id ON task_instances(task_id);

-- ---------------------------------------------------------------------------------------------
-- 000: shared idempotency records, keyed by (X-Idempotency-Key, X-Workflow-ID)
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS idempotency_keys (
  idempotency_key VARCHAR(255) NOT NULL,
  workflow_id VARCHAR(255) NOT NULL DEFAULT '',
  task_name VARCHAR(200) NOT NULL,
  request_fingerprint CHAR(64),
  status VARCHAR(20) NOT NULL DEFAULT 'processing'
    CHECK (status IN ('processing', 'completed', 'failed')),
  response_status INTEGER,
  result_payload JSONB,
  locked_until TIMESTAMP,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  expires_at TIMESTAMP NOT NULL DEFAULT (CURRENT_TIMESTAMP + INTERVAL '24 hours'),
  PRIMARY KEY (idempotency_key, workflow_id)
);
CREATE INDEX IF NOT EXISTS idx_idempotency_keys_expires_at ON idempotency_keys(expires_at);

-- ---------------------------------------------------------------------------------------------
-- 000: topics (TDA) and snippets (SCA text, IGA image URIs)
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS topics_snippets (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  type VARCHAR(20) NOT NULL CHECK (type IN ('topic', 'snippet')),
  topic_id UUID REFERENCES topics_snippets(id) ON DELETE CASCADE,
  title TEXT NOT NULL,
  summary TEXT,
  content TEXT,
  keywords JSONB NOT NULL DEFAULT '[]'::jsonb,
  sources JSONB NOT NULL DEFAULT '[]'::jsonb,
  origin VARCHAR(20) NOT NULL DEFAULT 'feed' CHECK (origin IN ('feed', 'manual', 'generated')),
  content_hash CHAR(64),
  relevance_score REAL,
  language VARCHAR(16),
  image_uri TEXT,
  llm_model_used VARCHAR(200),
  workflow_id UUID REFERENCES workflow_instances(workflow_id) ON DELETE SET NULL,
  published_at TIMESTAMP,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  search_vector TSVECTOR GENERATED ALWAYS AS (
    to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(summary, ''))
  ) STORED,
  CHECK ((type = 'snippet') = (topic_id IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS idx_topics_snippets_type_created ON topics_snippets(type, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_topics_snippets_topic_id ON topics_snippets(topic_id);
CREATE INDEX IF NOT EXISTS idx_topics_snippets_content_hash ON topics_snippets(content_hash);
CREATE INDEX IF NOT EXISTS idx_topics_snippets_search ON topics_snippets USING GIN (search_vector);

-- ---------------------------------------------------------------------------------------------
-- 000: PSWA script cache (PostgreSQL backend; the SQLite backend mirrors these columns)
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS generated_scripts (
  id SERIAL PRIMARY KEY,
  cache_key CHAR(64) NOT NULL UNIQUE,
  topic_hash CHAR(64) NOT NULL,
  writer VARCHAR(50) NOT NULL,
  model VARCHAR(200),
  prompt_version VARCHAR(50) NOT NULL,
  script_content JSONB NOT NULL,
  token_usage JSONB,
  hit_count INTEGER NOT NULL DEFAULT 0,
  last_used_at TIMESTAMP,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_generated_scripts_topic_hash ON generated_scripts(topic_hash);

-- ---------------------------------------------------------------------------------------------
-- updated_at is maintained by a trigger on every table that has the column
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION aether_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
    NEW.updated_at := CURRENT_TIMESTAMP;
  END IF;
  RETURN NEW;
END $$;

DO $$
DECLARE t TEXT;
BEGIN
  FOR t IN
    SELECT c.table_name FROM information_schema.columns c
    JOIN information_schema.tables tb ON tb.table_name = c.table_name AND tb.table_schema = c.table_schema
    WHERE c.table_schema = current_schema() AND c.column_name = 'updated_at' AND tb.table_type = 'BASE TABLE'
  LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS trg_%1$s_updated_at ON %1$I', t);
    EXECUTE format(
      'CREATE TRIGGER trg_%1$s_updated_at BEFORE UPDATE ON %1$I FOR EACH ROW EXECUTE FUNCTION aether_touch_updated_at()',
      t);
  END LOOP;
END $$;
