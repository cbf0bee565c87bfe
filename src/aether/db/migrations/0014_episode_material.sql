-- An episode's material comes from its show's sources only (tenant isolation), and a source may be an
-- article page as well as a feed.
--
-- topics_snippets stays the seed's one table; each row now names the sources its stories came from, so
-- an episode reads only topics (and their snippets) whose sources are all its show's (or given with it).

ALTER TABLE topics_snippets ADD COLUMN IF NOT EXISTS source_ids INTEGER[] NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS idx_topics_snippets_source_ids ON topics_snippets USING GIN (source_ids);

UPDATE topics_snippets t
   SET source_ids = ARRAY(
         SELECT DISTINCT fi.source_id FROM feed_items fi
          WHERE fi.topic_id = t.id AND fi.source_id IS NOT NULL ORDER BY 1)
 WHERE t.type = 'topic';

UPDATE topics_snippets s
   SET source_ids = t.source_ids
  FROM topics_snippets t
 WHERE s.type = 'snippet' AND s.topic_id = t.id;

-- A source is a feed, or a single article page given with an episode.
ALTER TABLE sources DROP CONSTRAINT IF EXISTS sources_kind_check;
ALTER TABLE sources ADD CONSTRAINT sources_kind_check CHECK (kind IN ('feed', 'article'));

-- The publication an article names itself (og:site_name), used to attribute what is taken from it.
ALTER TABLE feed_items ADD COLUMN IF NOT EXISTS publication TEXT;
CREATE INDEX IF NOT EXISTS idx_feed_items_source_published ON feed_items (source_id, published_at DESC NULLS LAST);
