-- name: scheduled_shows
SELECT id, user_id, title, schedule, schedule_fired_at, sources, (now() AT TIME ZONE 'UTC') AS db_now
  FROM shows
 WHERE schedule IS NOT NULL
 ORDER BY id

-- name: claim_run
-- Exactly once per cron tick, however many schedulers look: only the first UPDATE past this tick wins.
UPDATE shows SET schedule_fired_at = %(tick_at)s
 WHERE id = %(id)s AND schedule = %(cron)s
   AND (schedule_fired_at IS NULL OR schedule_fired_at < %(tick_at)s)
RETURNING id, user_id

-- name: pick_topics
-- The best-ranked topics from the show's own feeds only (none when it has none: another user's feeds never
-- reach it), discovered since its last episode and covered by none of its episodes (failed ones aside): neither picked for a scheduled
-- episode (params.topic_ids) nor written up by an episode's snippets step.
WITH own AS (
  SELECT id, workflow_id, params, created_at FROM episodes WHERE show_id = %(show_id)s AND status <> 'failed'
),
covered AS (
  SELECT jsonb_array_elements_text(o.params -> 'topic_ids') AS topic_id
    FROM own o WHERE jsonb_typeof(o.params -> 'topic_ids') = 'array'
  UNION
  SELECT s ->> 'topic_id'
    FROM own o
    JOIN task_instances t ON t.workflow_id = o.workflow_id AND t.step_name = 'snippets' AND t.status = 'completed'
    CROSS JOIN LATERAL jsonb_array_elements(
      CASE WHEN jsonb_typeof(t.output_summary -> 'snippets') = 'array' THEN t.output_summary -> 'snippets'
           ELSE '[]'::jsonb END) AS s
)
SELECT t.id::text AS id, t.title, t.summary, t.relevance_score, t.created_at
  FROM topics_snippets t
 WHERE t.type = 'topic'
   AND t.created_at > coalesce((SELECT max(created_at) FROM own), '-infinity'::timestamp)
   AND t.id::text NOT IN (SELECT topic_id FROM covered WHERE topic_id IS NOT NULL)
   AND cardinality(t.source_ids) > 0
   AND t.source_ids <@ ARRAY(
        SELECT src.id FROM sources src
         WHERE src.url = ANY (%(feeds)s::text[]) OR src.final_url = ANY (%(feeds)s::text[]))
 ORDER BY t.relevance_score DESC NULLS LAST, t.created_at DESC, t.id
 LIMIT %(limit)s
