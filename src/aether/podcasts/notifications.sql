-- name: episode_for_mail
SELECT e.id, e.title, e.description, e.show_id, s.title AS show_title, s.slug AS show_slug
  FROM episodes e JOIN shows s ON s.id = e.show_id
 WHERE e.id = %(id)s::uuid

-- name: confirmed_subscribers
SELECT id, email FROM subscribers WHERE show_id = %(show_id)s AND status = 'confirmed' ORDER BY id
