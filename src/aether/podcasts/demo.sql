-- name: latest_demo_episode
SELECT e.*, s.slug AS show_slug, s.title AS show_title
  FROM episodes e JOIN shows s ON s.id = e.show_id
 WHERE s.slug = %(slug)s
 ORDER BY e.created_at DESC, e.id DESC
 LIMIT 1
