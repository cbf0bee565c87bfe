-- name: insert_show
INSERT INTO shows (user_id, slug, guid, title, description, author, owner_email, language, category, explicit,
                   hosts, sources, schedule, targets, pronunciations, intro, outro, music, loudness_lufs, review)
VALUES (%(user_id)s, %(slug)s, %(guid)s, %(title)s, %(description)s, %(author)s, %(owner_email)s, %(language)s,
        %(category)s, %(explicit)s, %(hosts)s, %(sources)s, %(schedule)s, %(targets)s, %(pronunciations)s,
        %(intro)s, %(outro)s, %(music)s, %(loudness_lufs)s, %(review)s)
ON CONFLICT (slug) DO NOTHING
RETURNING *

-- name: slug_taken
SELECT 1 FROM shows WHERE slug = %(slug)s

-- name: own_show
SELECT * FROM shows WHERE id = %(id)s AND user_id = %(user_id)s

-- name: own_show_for_update
SELECT * FROM shows WHERE id = %(id)s AND user_id = %(user_id)s FOR UPDATE

-- name: list_own_shows
SELECT s.*, (SELECT count(*) FROM episodes e WHERE e.show_id = s.id) AS episode_count
  FROM shows s
 WHERE s.user_id = %(user_id)s AND (%(after_id)s::int IS NULL OR s.id < %(after_id)s::int)
 ORDER BY s.id DESC
 LIMIT %(limit)s

-- name: update_show
UPDATE shows SET title = %(title)s, description = %(description)s, author = %(author)s,
       owner_email = %(owner_email)s, language = %(language)s, category = %(category)s, explicit = %(explicit)s,
       hosts = %(hosts)s, sources = %(sources)s, schedule = %(schedule)s, targets = %(targets)s,
       pronunciations = %(pronunciations)s, intro = %(intro)s, outro = %(outro)s, music = %(music)s,
       loudness_lufs = %(loudness_lufs)s, review = %(review)s
 WHERE id = %(id)s AND user_id = %(user_id)s
RETURNING *

-- name: delete_show
DELETE FROM shows WHERE id = %(id)s AND user_id = %(user_id)s RETURNING id

-- name: show_by_slug
SELECT s.*, u.email AS user_email, u.display_name AS user_display_name
  FROM shows s JOIN users u ON u.id = s.user_id
 WHERE s.slug = %(slug)s

-- name: all_shows
SELECT s.id, s.slug, s.title, s.description, s.author, s.language, s.category,
       (SELECT count(*) FROM episodes e WHERE e.show_id = s.id AND e.status = 'published') AS published_count
  FROM shows s ORDER BY s.id
 LIMIT 200

-- name: count_shows
SELECT count(*) AS n FROM shows

-- name: show_workflows
-- Every workflow of the show's episodes (the first render and the studio's re-renders), with its status.
SELECT w.workflow_id, w.status
  FROM workflow_instances w
 WHERE w.workflow_id IN (SELECT e.workflow_id FROM episodes e WHERE e.show_id = %(show_id)s
                         UNION
                         SELECT r.workflow_id FROM episode_renders r JOIN episodes e ON e.id = r.episode_id
                          WHERE e.show_id = %(show_id)s)
 ORDER BY w.created_at, w.workflow_id;

-- name: delete_show_assets
-- The asset rows the show's workflows made or its episodes link, except those something outside the show
-- still uses (objects are content-addressed, so another show's episode, render or step may share one);
-- returns the URIs of their objects.
WITH flows AS (
  SELECT e.workflow_id FROM episodes e WHERE e.show_id = %(show_id)s AND e.workflow_id IS NOT NULL
  UNION
  SELECT r.workflow_id FROM episode_renders r JOIN episodes e ON e.id = r.episode_id
   WHERE e.show_id = %(show_id)s AND r.workflow_id IS NOT NULL
), linked AS (
  SELECT unnest(ARRAY[e.audio_asset_id, e.video_asset_id, e.cover_asset_id, e.transcript_asset_id,
                      e.chapters_asset_id]) AS id
    FROM episodes e WHERE e.show_id = %(show_id)s
  UNION
  SELECT unnest(ARRAY[r.audio_asset_id, r.video_asset_id, r.transcript_asset_id, r.chapters_asset_id])
    FROM episode_renders r JOIN episodes e ON e.id = r.episode_id WHERE e.show_id = %(show_id)s
), doomed AS (
  SELECT a.id, a.path FROM assets a
   WHERE a.workflow_id IN (SELECT workflow_id FROM flows) OR a.id IN (SELECT id FROM linked WHERE id IS NOT NULL)
), kept AS (
  SELECT d.id FROM doomed d
   WHERE EXISTS (SELECT 1 FROM episodes o
                  WHERE o.show_id <> %(show_id)s
                    AND d.id IN (o.audio_asset_id, o.video_asset_id, o.cover_asset_id, o.transcript_asset_id,
                                 o.chapters_asset_id))
      OR EXISTS (SELECT 1 FROM episode_renders r JOIN episodes o ON o.id = r.episode_id
                  WHERE o.show_id <> %(show_id)s
                    AND d.id IN (r.audio_asset_id, r.video_asset_id, r.transcript_asset_id, r.chapters_asset_id))
      OR EXISTS (SELECT 1 FROM task_instances t
                  WHERE t.workflow_id NOT IN (SELECT workflow_id FROM flows)
                    AND t.output_summary IS NOT NULL
                    AND strpos(t.output_summary::text, d.path) > 0)
)
DELETE FROM assets a
 USING doomed d
 WHERE a.id = d.id AND d.id NOT IN (SELECT id FROM kept)
RETURNING a.path;
