-- name: source_add
INSERT INTO sources (url, title, enabled) VALUES (%(url)s, %(title)s, TRUE)
ON CONFLICT (url) DO UPDATE SET enabled = TRUE, title = coalesce(EXCLUDED.title, sources.title)
RETURNING *, (xmax = 0) AS inserted;

-- name: source_add_adhoc
INSERT INTO sources (url, enabled) VALUES (%(url)s, FALSE) ON CONFLICT (url) DO NOTHING;

-- name: source_list
SELECT * FROM sources ORDER BY id;

-- name: source_remove
DELETE FROM sources WHERE url = %(url)s RETURNING id;

-- name: sources_enabled
SELECT * FROM sources WHERE enabled ORDER BY id;

-- name: sources_by_url
SELECT * FROM sources WHERE url = ANY(%(urls)s) ORDER BY id;

-- name: source_record_ok
UPDATE sources SET
  title = coalesce(%(title)s, title),
  final_url = %(final_url)s,
  etag = %(etag)s,
  last_modified = %(last_modified)s,
  last_status = 'ok',
  last_http_status = %(http_status)s,
  last_error = %(warning)s,
  last_error_at = CASE WHEN %(warning)s::text IS NULL THEN last_error_at ELSE CURRENT_TIMESTAMP END,
  consecutive_failures = 0,
  last_fetched_at = CURRENT_TIMESTAMP,
  last_success_at = CURRENT_TIMESTAMP,
  last_item_count = %(item_count)s
WHERE id = %(id)s;

-- name: source_record_not_modified
UPDATE sources SET
  etag = coalesce(%(etag)s, etag),
  last_modified = coalesce(%(last_modified)s, last_modified),
  last_status = 'not_modified',
  last_http_status = %(http_status)s,
  last_error = NULL,
  consecutive_failures = 0,
  last_fetched_at = CURRENT_TIMESTAMP,
  last_success_at = CURRENT_TIMESTAMP
WHERE id = %(id)s;

-- name: source_record_error
UPDATE sources SET
  last_status = 'error',
  last_http_status = %(http_status)s,
  last_error = %(error)s,
  last_error_at = CURRENT_TIMESTAMP,
  consecutive_failures = consecutive_failures + 1,
  last_fetched_at = CURRENT_TIMESTAMP
WHERE id = %(id)s;

-- name: discover_lock
SELECT pg_advisory_xact_lock(hashtext('aether.tda.discover'));

-- name: items_by_url
SELECT id, url, text_hash, topic_id, text, text_origin FROM feed_items WHERE url = ANY(%(urls)s);

-- name: anchor_items
SELECT fi.*, s.url AS feed_url, s.title AS feed_title
FROM feed_items fi
JOIN topics_snippets t ON t.id = fi.topic_id AND t.type = 'topic'
LEFT JOIN sources s ON s.id = fi.source_id
WHERE t.updated_at >= CURRENT_TIMESTAMP - %(window_days)s * INTERVAL '1 day'
ORDER BY fi.id;

-- name: topic_items
SELECT fi.*, s.url AS feed_url, s.title AS feed_title
FROM feed_items fi LEFT JOIN sources s ON s.id = fi.source_id
WHERE fi.topic_id = ANY(%(topic_ids)s)
ORDER BY fi.published_at NULLS LAST, fi.id;

-- name: item_upsert
INSERT INTO feed_items (source_id, topic_id, url, guid, title, text, text_hash, text_origin, keywords, language,
                        published_at, publication)
VALUES (%(source_id)s, %(topic_id)s, %(url)s, %(guid)s, %(title)s, %(text)s, %(text_hash)s, %(text_origin)s,
        %(keywords)s, %(language)s, %(published_at)s, %(publication)s)
ON CONFLICT (url) DO UPDATE SET
  source_id = coalesce(EXCLUDED.source_id, feed_items.source_id),
  topic_id = coalesce(feed_items.topic_id, EXCLUDED.topic_id),
  guid = EXCLUDED.guid,
  title = EXCLUDED.title,
  text = EXCLUDED.text,
  text_hash = EXCLUDED.text_hash,
  text_origin = EXCLUDED.text_origin,
  keywords = EXCLUDED.keywords,
  language = EXCLUDED.language,
  published_at = coalesce(EXCLUDED.published_at, feed_items.published_at),
  publication = coalesce(EXCLUDED.publication, feed_items.publication),
  updated_at = CURRENT_TIMESTAMP
RETURNING id, topic_id;

-- name: topic_insert
INSERT INTO topics_snippets (type, title, summary, content, keywords, sources, origin, content_hash,
                             relevance_score, language, workflow_id, published_at, source_ids)
VALUES ('topic', %(title)s, %(summary)s, %(content)s, %(keywords)s, %(sources)s, %(origin)s, %(content_hash)s,
        %(score)s, %(language)s, %(workflow_id)s, %(published_at)s, %(source_ids)s)
RETURNING id;

-- name: topic_update
UPDATE topics_snippets SET
  title = %(title)s,
  summary = %(summary)s,
  content = %(content)s,
  keywords = %(keywords)s,
  sources = %(sources)s,
  content_hash = %(content_hash)s,
  relevance_score = %(score)s,
  language = %(language)s,
  published_at = %(published_at)s,
  source_ids = %(source_ids)s,
  updated_at = CURRENT_TIMESTAMP
WHERE id = %(id)s AND type = 'topic';

-- name: topics_by_id
SELECT * FROM topics_snippets WHERE type = 'topic' AND id = ANY(%(ids)s);

-- name: topics_recent
SELECT * FROM topics_snippets
WHERE type = 'topic' AND updated_at >= CURRENT_TIMESTAMP - %(window_days)s * INTERVAL '1 day'
ORDER BY relevance_score DESC NULLS LAST, updated_at DESC, id
LIMIT %(limit)s;

-- name: topics_list
SELECT t.*, (SELECT count(*) FROM topics_snippets s WHERE s.topic_id = t.id) AS snippet_count
FROM topics_snippets t
WHERE t.type = 'topic'
ORDER BY t.updated_at::date DESC, t.relevance_score DESC NULLS LAST, t.updated_at DESC, t.id
LIMIT %(limit)s;

-- name: topic_by_title
SELECT * FROM topics_snippets
WHERE type = 'topic' AND lower(title) = lower(%(title)s)
ORDER BY updated_at DESC LIMIT 1;

-- name: topic_search
SELECT *, ts_rank(search_vector, plainto_tsquery('simple', %(query)s)) AS rank
FROM topics_snippets
WHERE type = 'topic' AND search_vector @@ plainto_tsquery('simple', %(query)s)
ORDER BY rank DESC, updated_at DESC LIMIT 1;
