-- 0007 gateway: shows (a user's podcast series, each with its own public feed), episodes, subscribers
-- per show, login attempts for rate limiting, and de-duplicated download counting in analytics.

SET LOCAL timezone TO 'UTC';

-- ---------------------------------------------------------------------------------------------
-- shows: one podcast series of a user
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS shows (
  id SERIAL PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  slug VARCHAR(80) NOT NULL,
  guid UUID NOT NULL,
  title VARCHAR(200) NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  author VARCHAR(200) NOT NULL DEFAULT '',
  owner_email VARCHAR(320),
  language VARCHAR(16) NOT NULL DEFAULT 'en',
  category VARCHAR(100) NOT NULL DEFAULT 'Technology',
  explicit BOOLEAN NOT NULL DEFAULT FALSE,
  hosts JSONB NOT NULL DEFAULT '[]'::jsonb,
  sources JSONB NOT NULL DEFAULT '[]'::jsonb,
  schedule VARCHAR(100),
  image_uri TEXT,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  CHECK (jsonb_typeof(hosts) = 'array'),
  CHECK (jsonb_typeof(sources) = 'array')
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_shows_slug ON shows (slug);
CREATE UNIQUE INDEX IF NOT EXISTS idx_shows_guid ON shows (guid);
CREATE INDEX IF NOT EXISTS idx_shows_user_id ON shows (user_id, id DESC);

-- ---------------------------------------------------------------------------------------------
-- episodes: one episode of a show, produced by a `podcast_episode` workflow
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS episodes (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  show_id INTEGER NOT NULL REFERENCES shows(id) ON DELETE CASCADE,
  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
  workflow_id UUID REFERENCES workflow_instances(workflow_id) ON DELETE SET NULL,
  guid VARCHAR(200) NOT NULL,
  title VARCHAR(300) NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  status VARCHAR(20) NOT NULL DEFAULT 'processing'
    CHECK (status IN ('processing', 'published', 'failed')),
  episode_type VARCHAR(10) NOT NULL DEFAULT 'full' CHECK (episode_type IN ('full', 'trailer', 'bonus')),
  episode_number INTEGER CHECK (episode_number IS NULL OR episode_number > 0),
  params JSONB NOT NULL DEFAULT '{}'::jsonb,
  duration_seconds NUMERIC CHECK (duration_seconds IS NULL OR duration_seconds >= 0),
  audio_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
  video_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
  cover_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
  transcript_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
  chapters_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
  published_at TIMESTAMP,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_episodes_guid ON episodes (guid);
CREATE UNIQUE INDEX IF NOT EXISTS idx_episodes_workflow_id ON episodes (workflow_id) WHERE workflow_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_episodes_show_created ON episodes (show_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_episodes_published ON episodes (published_at DESC, id DESC) WHERE status = 'published';

-- An episode follows its workflow: completed -> published, failed or cancelled -> failed. Publishing
-- enqueues (same transaction, de-duplicated) the `mail.notify_episode` task that mails the show's
-- confirmed subscribers (handler in aether.podcasts.notifications).
CREATE OR REPLACE FUNCTION aether_episode_follow_workflow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  changed UUID;
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('completed', 'failed', 'cancelled') THEN
    UPDATE episodes
       SET status = CASE WHEN NEW.status = 'completed' THEN 'published' ELSE 'failed' END,
           published_at = CASE WHEN NEW.status = 'completed'
                               THEN coalesce(published_at, NEW.completed_at, CURRENT_TIMESTAMP)
                               ELSE published_at END
     WHERE workflow_id = NEW.workflow_id AND status = 'processing'
    RETURNING id INTO changed;
    IF changed IS NOT NULL AND NEW.status = 'completed' THEN
      INSERT INTO agents (name, type, status) VALUES ('mail', 'mail', 'active') ON CONFLICT (name) DO NOTHING;
      INSERT INTO tasks (agent_id, agent_name, task_type, payload, dedupe_key)
      SELECT a.id, 'mail', 'mail.notify_episode', jsonb_build_object('episode_id', changed::text),
             'mail.notify_episode:' || changed::text
        FROM agents a WHERE a.name = 'mail'
      ON CONFLICT DO NOTHING;
      PERFORM pg_notify('aether_tasks', 'mail');
    END IF;
  END IF;
  RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS trg_workflow_instances_episode ON workflow_instances;
CREATE TRIGGER trg_workflow_instances_episode AFTER UPDATE OF status ON workflow_instances
  FOR EACH ROW EXECUTE FUNCTION aether_episode_follow_workflow();

DROP TRIGGER IF EXISTS trg_shows_updated_at ON shows;
CREATE TRIGGER trg_shows_updated_at BEFORE UPDATE ON shows
  FOR EACH ROW EXECUTE FUNCTION aether_touch_updated_at();
DROP TRIGGER IF EXISTS trg_episodes_updated_at ON episodes;
CREATE TRIGGER trg_episodes_updated_at BEFORE UPDATE ON episodes
  FOR EACH ROW EXECUTE FUNCTION aether_touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- subscribers: per show, one row per address (case-insensitive)
-- ---------------------------------------------------------------------------------------------
ALTER TABLE subscribers ADD COLUMN IF NOT EXISTS show_id INTEGER REFERENCES shows(id) ON DELETE CASCADE;
ALTER TABLE subscribers ADD COLUMN IF NOT EXISTS confirmation_expires_at TIMESTAMP;
CREATE UNIQUE INDEX IF NOT EXISTS idx_subscribers_show_email ON subscribers (show_id, lower(email));
CREATE INDEX IF NOT EXISTS idx_subscribers_show_status ON subscribers (show_id, status);

-- ---------------------------------------------------------------------------------------------
-- login_attempts: for rate limiting failed logins per address and client
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS login_attempts (
  id BIGSERIAL PRIMARY KEY,
  email VARCHAR(320) NOT NULL,
  ip_address INET,
  succeeded BOOLEAN NOT NULL,
  attempted_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_login_attempts_email ON login_attempts (lower(email), attempted_at DESC);
CREATE INDEX IF NOT EXISTS idx_login_attempts_ip ON login_attempts (ip_address, attempted_at DESC);

-- ---------------------------------------------------------------------------------------------
-- episode_download_days: de-duplication of downloads (one per episode, client and UTC day, the way
-- podcast measurement counts); each first download of a day also records an `episode_downloads` metric
-- in analytics. The client is a sha256 of address and user agent, never the address itself.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS episode_download_days (
  episode_id UUID NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
  day DATE NOT NULL,
  client_hash CHAR(64) NOT NULL,
  media VARCHAR(10) NOT NULL DEFAULT 'audio' CHECK (media IN ('audio', 'video')),
  first_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (episode_id, media, day, client_hash)
);
CREATE INDEX IF NOT EXISTS idx_episode_download_days_day ON episode_download_days (day);

-- ---------------------------------------------------------------------------------------------
-- gateway_secrets: random keys the gateway derives tokens from (e.g. the stable unsubscribe link of a
-- subscriber, of which only a hash is stored in subscribers.unsubscribe_token_hash)
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS gateway_secrets (
  name VARCHAR(50) PRIMARY KEY,
  secret BYTEA NOT NULL CHECK (length(secret) >= 32),
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
