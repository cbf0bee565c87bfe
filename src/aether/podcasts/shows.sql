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
