-- Object storage: every stored object has one `assets` row (seed table of 0001). The columns below
-- copy the identifying parts of `metadata` out of JSONB so they can be indexed and kept unique:
-- a second run that produces the same bytes finds the row instead of writing another one.

ALTER TABLE assets ADD COLUMN IF NOT EXISTS sha256 CHAR(64);
ALTER TABLE assets ADD COLUMN IF NOT EXISTS byte_size BIGINT CHECK (byte_size IS NULL OR byte_size >= 0);
ALTER TABLE assets ADD COLUMN IF NOT EXISTS mime_type VARCHAR(100);
-- The hash of everything a render was made from (script, voices, music, cover, engine version): a
-- second render of the same inputs reuses the assets of the first instead of rendering again.
ALTER TABLE assets ADD COLUMN IF NOT EXISTS render_key CHAR(64);
ALTER TABLE assets ADD COLUMN IF NOT EXISTS workflow_id UUID
  REFERENCES workflow_instances(workflow_id) ON DELETE SET NULL;

-- One row per distinct content of a type (content-addressed objects: same bytes, same object).
CREATE UNIQUE INDEX IF NOT EXISTS idx_assets_sha256_type ON assets(sha256, type);
CREATE INDEX IF NOT EXISTS idx_assets_render_key ON assets(render_key) WHERE render_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_assets_workflow_id ON assets(workflow_id) WHERE workflow_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_assets_metadata_workflow_id ON assets((metadata->>'workflow_id'));
CREATE INDEX IF NOT EXISTS idx_assets_type_created_at ON assets(type, created_at DESC);
