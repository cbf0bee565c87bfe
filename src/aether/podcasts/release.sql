-- name: publish_episode
-- processing (or failed, when its workflow was retried) -> published, by the episode's workflow or one of
-- its renders; the trigger of 0009 records `episodes_published` on this change, once.
UPDATE episodes e
   SET status = 'published', published_at = coalesce(published_at, (now() AT TIME ZONE 'UTC'))
 WHERE id = %(id)s::uuid AND status IN ('processing', 'failed')
   AND (%(workflow_id)s::uuid IS NULL OR workflow_id = %(workflow_id)s::uuid
        OR EXISTS (SELECT 1 FROM episode_renders r WHERE r.episode_id = e.id AND r.workflow_id = %(workflow_id)s::uuid))
RETURNING id

-- name: episode_with_show
SELECT e.*, s.slug AS show_slug, s.title AS show_title, s.author AS show_author,
       s.description AS show_description, s.language AS show_language
  FROM episodes e JOIN shows s ON s.id = e.show_id
 WHERE e.id = %(id)s::uuid

-- name: store_notes
UPDATE episodes SET notes = %(notes)s WHERE id = %(id)s::uuid
