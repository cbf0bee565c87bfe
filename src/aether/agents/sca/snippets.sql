-- name: topic_documents
-- The stories a topic lists (topics_snippets.sources), as stored by discovery.
SELECT fi.url, fi.title, fi.text, fi.text_hash, fi.published_at, fi.publication, s.title AS feed_title
FROM feed_items fi LEFT JOIN sources s ON s.id = fi.source_id
WHERE fi.url = ANY(%(urls)s::text[])
ORDER BY fi.published_at NULLS LAST, fi.id;

-- name: topics_by_id
SELECT * FROM topics_snippets WHERE type = 'topic' AND id = ANY(%(ids)s::uuid[]);

-- name: snippet_for_topic
SELECT * FROM topics_snippets
WHERE type = 'snippet' AND topic_id = %(topic_id)s AND content_hash = %(content_hash)s
ORDER BY created_at DESC, id LIMIT 1;

-- name: snippet_insert
INSERT INTO topics_snippets (type, topic_id, title, summary, keywords, sources, facts, origin, content_hash,
                             relevance_score, language, llm_model_used, workflow_id, published_at, source_ids)
VALUES ('snippet', %(topic_id)s, %(title)s, %(summary)s, %(keywords)s, %(sources)s, %(facts)s, 'generated',
        %(content_hash)s, %(score)s, %(language)s, %(model)s, %(workflow_id)s, %(published_at)s, %(source_ids)s)
RETURNING *;

-- name: snippet_lock
SELECT pg_advisory_xact_lock(hashtext('aether.sca.snippet:' || %(topic_id)s::text));
