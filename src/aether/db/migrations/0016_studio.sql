-- The studio: an episode's script in versions (each edit a new one, the history kept), its audio in
-- versions (each render a new one, with new media URLs), a `review` status (the script waits for the
-- owner's approval), and the cache of spoken lines that lets a re-render speak only what changed.

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

-- A spoken line, kept by the fingerprint of what decides its sound: the text as spoken (after the show's
-- lexicon) and the voice's settings. A re-render speaks only the lines whose fingerprint is new.
CREATE TABLE IF NOT EXISTS speech_clips (
  fingerprint CHAR(64) PRIMARY KEY,
  uri TEXT NOT NULL,
  seconds REAL NOT NULL CHECK (seconds >= 0),
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  used_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
