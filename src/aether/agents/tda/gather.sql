-- Queries of aether.agents.tda.gather: an episode's material from its own sources.

-- name: items_of_sources
SELECT fi.id, fi.source_id, fi.url, fi.title, fi.text, fi.text_hash, fi.text_origin, fi.language,
       fi.published_at, fi.first_seen_at, fi.publication, s.url AS source_url, s.title AS feed_title,
       s.kind AS source_kind
  FROM feed_items fi
  JOIN sources s ON s.id = fi.source_id
 WHERE fi.source_id = ANY(%(ids)s::integer[])
 ORDER BY fi.published_at DESC NULLS LAST, fi.id DESC
 LIMIT %(limit)s;

-- name: item_set_article
UPDATE feed_items
   SET text = %(text)s, text_hash = %(text_hash)s, text_origin = 'article',
       publication = coalesce(%(publication)s, publication), updated_at = CURRENT_TIMESTAMP
 WHERE id = %(id)s;

-- name: source_set_kind
UPDATE sources SET kind = %(kind)s, updated_at = CURRENT_TIMESTAMP WHERE id = %(id)s AND kind <> %(kind)s;

-- name: topic_same_story
-- The topic already made from exactly these stories of exactly these sources (a retold episode reuses it).
SELECT id FROM topics_snippets
 WHERE type = 'topic' AND content_hash = %(content_hash)s AND source_ids = %(source_ids)s::integer[]
 ORDER BY created_at, id
 LIMIT 1;
