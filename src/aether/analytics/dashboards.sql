-- Dashboard reports. Every one takes %(start)s, %(end)s (a half-open range of recorded_at, so only the
-- partitions of those months are read) and %(shows)s (text[] of show ids the caller may see; NULL = all).

-- name: downloads_by_episode
SELECT a.metadata->>'episode_id' AS episode_id,
       coalesce(max(e.title), a.metadata->>'episode_id') AS title,
       a.metadata->>'show_id' AS show_id,
       sum(a.value)::bigint AS downloads
FROM analytics a
LEFT JOIN episodes e ON e.id::text = a.metadata->>'episode_id'
WHERE a.metric_name = 'episode_downloads'
  AND a.recorded_at >= %(start)s AND a.recorded_at < %(end)s
  AND (%(shows)s::text[] IS NULL OR a.metadata->>'show_id' = ANY(%(shows)s::text[]))
GROUP BY a.metadata->>'episode_id', a.metadata->>'show_id'
ORDER BY downloads DESC, title
LIMIT 500

-- name: downloads_by_day
WITH counts AS (
  SELECT date_trunc('day', recorded_at)::date AS day, sum(value) AS downloads
  FROM analytics
  WHERE metric_name = 'episode_downloads'
    AND recorded_at >= %(start)s AND recorded_at < %(end)s
    AND (%(shows)s::text[] IS NULL OR metadata->>'show_id' = ANY(%(shows)s::text[]))
  GROUP BY 1
)
SELECT d::date AS day, coalesce(c.downloads, 0)::bigint AS downloads
FROM generate_series(%(start)s::date, %(end)s::date - 1, INTERVAL '1 day') AS d
LEFT JOIN counts c ON c.day = d::date
ORDER BY 1

-- name: published_by_day
WITH counts AS (
  SELECT date_trunc('day', recorded_at)::date AS day,
         sum(value) FILTER (WHERE metric_name = 'episodes_published') AS episodes,
         sum(value) FILTER (WHERE metric_name = 'videos_created') AS videos
  FROM analytics
  WHERE metric_name IN ('episodes_published', 'videos_created')
    AND recorded_at >= %(start)s AND recorded_at < %(end)s
    AND (%(shows)s::text[] IS NULL OR metadata->>'show_id' = ANY(%(shows)s::text[]))
  GROUP BY 1
)
SELECT d::date AS day, coalesce(c.episodes, 0)::bigint AS episodes, coalesce(c.videos, 0)::bigint AS videos
FROM generate_series(%(start)s::date, %(end)s::date - 1, INTERVAL '1 day') AS d
LEFT JOIN counts c ON c.day = d::date
ORDER BY 1

-- name: tasks_by_agent
SELECT coalesce(metadata->>'agent', 'unknown') AS agent,
       count(*) AS tasks,
       count(*) FILTER (WHERE metadata->>'outcome' IS DISTINCT FROM 'completed') AS failed,
       round(count(*) FILTER (WHERE metadata->>'outcome' IS DISTINCT FROM 'completed')::numeric / count(*), 4)
         AS failure_rate,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY value)::numeric, 3) AS p50_seconds,
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY value)::numeric, 3) AS p95_seconds
FROM analytics
WHERE metric_name = 'task_duration_seconds'
  AND recorded_at >= %(start)s AND recorded_at < %(end)s
  AND (%(shows)s::text[] IS NULL OR metadata->>'show_id' = ANY(%(shows)s::text[]))
GROUP BY 1
ORDER BY 1

-- name: user_show_ids
SELECT id::text AS id FROM shows WHERE user_id = %(user_id)s ORDER BY id
