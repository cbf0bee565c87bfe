-- The studio: an episode's script in versions (each edit a new one, the history kept), its audio in
-- versions (each render a new one, with new media URLs), and a `review` status (the script waits for
-- the owner's approval). Spoken lines are cached in the object store (aether.agents.vfa.clips).

ALTER TABLE episodes DROP CONSTRAINT IF EXISTS episodes_status_check;
ALTER TABLE episodes ADD CONSTRAINT episodes_status_check
  CHECK (status IN ('processing', 'review', 'published', 'failed'));

CREATE TABLE IF NOT EXISTS episode_scripts (
  episode_id UUID NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
  version INTEGER NOT NULL CHECK (version > 0),
  script JSONB NOT NULL CHECK (jsonb_typeof(script) = 'object'),
  author VARCHAR(200) NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (episode_id, version)
);

CREATE TABLE IF NOT EXISTS episode_renders (
  episode_id UUID NOT NULL REFERENCES episodes(id) ON DELETE CASCADE,
  version INTEGER NOT NULL CHECK (version > 0),
  script_version INTEGER NOT NULL,
  workflow_id UUID REFERENCES workflow_instances(workflow_id) ON DELETE SET NULL,
  status VARCHAR(20) NOT NULL DEFAULT 'rendering' CHECK (status IN ('rendering', 'ready', 'failed')),
  lines_total INTEGER CHECK (lines_total IS NULL OR lines_total >= 0),
  lines_synthesized INTEGER CHECK (lines_synthesized IS NULL OR lines_synthesized >= 0),
  audio_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
  video_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
  transcript_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
  chapters_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
  duration_seconds NUMERIC CHECK (duration_seconds IS NULL OR duration_seconds >= 0),
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  completed_at TIMESTAMP,
  PRIMARY KEY (episode_id, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_episode_renders_workflow ON episode_renders (workflow_id)
  WHERE workflow_id IS NOT NULL;

-- The episode's current audio version (its media columns hold that version's assets); each version's
-- media have URLs of their own (/media/episodes/{id}/v{version}/audio.mp3).
ALTER TABLE episodes ADD COLUMN IF NOT EXISTS render_version INTEGER;

-- A render follows its workflow: ready when it completes, failed when it fails or is cancelled (an
-- approved episode whose render fails becomes failed, with the workflow's reason), rendering again on retry.
CREATE OR REPLACE FUNCTION aether_render_follow_workflow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    UPDATE episode_renders
       SET status = CASE WHEN NEW.status = 'completed' THEN 'ready'
                         WHEN NEW.status IN ('failed', 'cancelled') THEN 'failed' ELSE 'rendering' END,
           completed_at = CASE WHEN NEW.status IN ('completed', 'failed', 'cancelled')
                               THEN coalesce(completed_at, CURRENT_TIMESTAMP) END
     WHERE workflow_id = NEW.workflow_id;
    IF NEW.status IN ('failed', 'cancelled') THEN
      UPDATE episodes e SET status = 'failed'
        FROM episode_renders r
       WHERE r.workflow_id = NEW.workflow_id AND e.id = r.episode_id AND e.status = 'processing'
         AND e.workflow_id IS DISTINCT FROM NEW.workflow_id;
    ELSIF NEW.status IN ('running', 'pending') THEN
      UPDATE episodes e SET status = 'processing'
        FROM episode_renders r
       WHERE r.workflow_id = NEW.workflow_id AND e.id = r.episode_id AND e.status = 'failed'
         AND e.workflow_id IS DISTINCT FROM NEW.workflow_id;
    END IF;
  END IF;
  RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS trg_workflow_instances_render ON workflow_instances;
CREATE TRIGGER trg_workflow_instances_render AFTER UPDATE OF status ON workflow_instances
  FOR EACH ROW EXECUTE FUNCTION aether_render_follow_workflow();
