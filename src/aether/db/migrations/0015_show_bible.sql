-- The show bible: how a show sounds. Hosts become objects ({"name", "persona", "voice"}; plain names
-- written before stay readable), a pronunciation lexicon for speech, the show's own intro and outro lines,
-- music on or off, the loudness target, and `review` (hold each new script for approval).

ALTER TABLE shows ADD COLUMN IF NOT EXISTS pronunciations JSONB NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE shows ADD COLUMN IF NOT EXISTS intro TEXT;
ALTER TABLE shows ADD COLUMN IF NOT EXISTS outro TEXT;
ALTER TABLE shows ADD COLUMN IF NOT EXISTS music BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE shows ADD COLUMN IF NOT EXISTS loudness_lufs REAL NOT NULL DEFAULT -16;
ALTER TABLE shows ADD COLUMN IF NOT EXISTS review BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE shows DROP CONSTRAINT IF EXISTS shows_pronunciations_check;
ALTER TABLE shows ADD CONSTRAINT shows_pronunciations_check CHECK (jsonb_typeof(pronunciations) = 'array');
ALTER TABLE shows DROP CONSTRAINT IF EXISTS shows_loudness_check;
ALTER TABLE shows ADD CONSTRAINT shows_loudness_check CHECK (loudness_lufs BETWEEN -36 AND -6);

UPDATE shows
   SET hosts = (SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(h) = 'string'
                                             THEN jsonb_build_object('name', h) ELSE h END), '[]'::jsonb)
                  FROM jsonb_array_elements(hosts) AS h)
 WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(hosts) AS h WHERE jsonb_typeof(h) = 'string');
