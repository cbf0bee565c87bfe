-- Content agents I: feed sources (TDA), the items read from them, and the ranked source sentences
-- (facts) that snippets carry for the script writers.

-- One row per feed that TDA polls (or was asked to read once, then enabled = FALSE).
CREATE TABLE IF NOT EXISTS sources (
  id SERIAL PRIMARY KEY,
  url TEXT NOT NULL UNIQUE,
  title TEXT,
  kind VARCHAR(20) NOT NULL DEFAULT 'feed' CHECK (kind IN ('feed')),
  enabled BOOLEAN NOT NULL DEFAULT TRUE,
  final_url TEXT,
  etag TEXT,
  last_modified TEXT,
  last_status VARCHAR(20) CHECK (last_status IN ('ok', 'not_modified', 'error')),
  last_http_status INTEGER,
  last_error TEXT,
  last_error_at TIMESTAMP,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_fetched_at TIMESTAMP,
  last_success_at TIMESTAMP,
  last_item_count INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_sources_enabled ON sources(enabled) WHERE enabled;

-- Every article TDA has read (from a feed, or fetched for a manual topic), and the topic it joined.
CREATE TABLE IF NOT EXISTS feed_items (
  id SERIAL PRIMARY KEY,
  source_id INTEGER REFERENCES sources(id) ON DELETE SET NULL,
  topic_id UUID REFERENCES topics_snippets(id) ON DELETE SET NULL,
  url TEXT NOT NULL UNIQUE,
  guid TEXT,
  title TEXT NOT NULL,
  text TEXT NOT NULL DEFAULT '',
  text_hash CHAR(64) NOT NULL,
  text_origin VARCHAR(20) NOT NULL DEFAULT 'feed' CHECK (text_origin IN ('feed', 'article', 'manual')),
  keywords JSONB NOT NULL DEFAULT '[]'::jsonb,
  language VARCHAR(16),
  published_at TIMESTAMP,
  first_seen_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_feed_items_topic_id ON feed_items(topic_id);
CREATE INDEX IF NOT EXISTS idx_feed_items_source_id ON feed_items(source_id);
CREATE INDEX IF NOT EXISTS idx_feed_items_first_seen_at ON feed_items(first_seen_at);

-- A snippet's ranked source sentences: [{"text", "source_url", "score"}], each verbatim from a source.
ALTER TABLE topics_snippets ADD COLUMN IF NOT EXISTS facts JSONB NOT NULL DEFAULT '[]'::jsonb;

DROP TRIGGER IF EXISTS trg_sources_updated_at ON sources;
CREATE TRIGGER trg_sources_updated_at BEFORE UPDATE ON sources
  FOR EACH ROW EXECUTE FUNCTION aether_touch_updated_at();
DROP TRIGGER IF EXISTS trg_feed_items_updated_at ON feed_items;
CREATE TRIGGER trg_feed_items_updated_at BEFORE UPDATE ON feed_items
  FOR EACH ROW EXECUTE FUNCTION aether_touch_updated_at();
