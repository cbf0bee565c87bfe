-- name: insert_episode
INSERT INTO episodes (id, show_id, user_id, workflow_id, guid, title, description, episode_type, episode_number,
                      params)
VALUES (%(id)s, %(show_id)s, %(user_id)s, %(workflow_id)s, %(guid)s, %(title)s, %(description)s,
        %(episode_type)s::varchar,
        (SELECT coalesce(max(episode_number), 0) + 1 FROM episodes
          WHERE show_id = %(show_id)s AND episode_type = 'full' AND %(episode_type)s::varchar = 'full'),
        %(params)s)
RETURNING *

-- name: own_episode
SELECT e.*, s.slug AS show_slug, s.title AS show_title
  FROM episodes e JOIN shows s ON s.id = e.show_id
 WHERE e.id = %(id)s AND s.user_id = %(user_id)s

-- name: public_episode
SELECT e.*, s.slug AS show_slug, s.title AS show_title, s.user_id AS owner_id
  FROM episodes e JOIN shows s ON s.id = e.show_id
 WHERE e.id = %(id)s

-- name: list_show_episodes
SELECT e.id, e.show_id, e.workflow_id, e.guid, e.title, e.description, e.status, e.episode_type,
       e.episode_number, e.duration_seconds, e.published_at, e.created_at, e.updated_at,
       e.audio_asset_id, e.video_asset_id, e.cover_asset_id, e.transcript_asset_id, e.chapters_asset_id,
       e.notes
  FROM episodes e
 WHERE e.show_id = %(show_id)s
   AND (%(after_created)s::timestamp IS NULL OR (e.created_at, e.id) < (%(after_created)s::timestamp, %(after_id)s::uuid))
 ORDER BY e.created_at DESC, e.id DESC
 LIMIT %(limit)s

-- name: list_own_show_episodes
SELECT e.id, e.show_id, e.workflow_id, e.guid, e.title, e.description, e.status, e.episode_type,
       e.episode_number, e.duration_seconds, e.published_at, e.created_at, e.updated_at,
       e.audio_asset_id, e.video_asset_id, e.cover_asset_id, e.transcript_asset_id, e.chapters_asset_id,
       e.notes
  FROM episodes e JOIN shows s ON s.id = e.show_id AND s.user_id = %(user_id)s
 WHERE e.show_id = %(show_id)s
   AND (%(after_created)s::timestamp IS NULL OR (e.created_at, e.id) < (%(after_created)s::timestamp, %(after_id)s::uuid))
 ORDER BY e.created_at DESC, e.id DESC
 LIMIT %(limit)s

-- name: list_user_episodes
SELECT e.id, e.show_id, e.workflow_id, e.guid, e.title, e.description, e.status, e.episode_type,
       e.episode_number, e.duration_seconds, e.published_at, e.created_at, e.updated_at,
       e.audio_asset_id, e.video_asset_id, e.cover_asset_id, e.transcript_asset_id, e.chapters_asset_id,
       e.notes
  FROM episodes e JOIN shows s ON s.id = e.show_id
 WHERE s.user_id = %(user_id)s
   AND (%(after_created)s::timestamp IS NULL OR (e.created_at, e.id) < (%(after_created)s::timestamp, %(after_id)s::uuid))
 ORDER BY e.created_at DESC, e.id DESC
 LIMIT %(limit)s

-- name: latest_published
SELECT e.id, e.title, e.description, e.published_at, e.duration_seconds, e.cover_asset_id, e.audio_asset_id,
       s.slug AS show_slug, s.title AS show_title
  FROM episodes e JOIN shows s ON s.id = e.show_id
 WHERE e.status = 'published'
 ORDER BY e.published_at DESC, e.id DESC
 LIMIT %(limit)s

-- name: set_episode_assets
UPDATE episodes
   SET audio_asset_id = coalesce(%(audio)s, audio_asset_id),
       video_asset_id = coalesce(%(video)s, video_asset_id),
       cover_asset_id = coalesce(%(cover)s, cover_asset_id),
       transcript_asset_id = coalesce(%(transcript)s, transcript_asset_id),
       chapters_asset_id = coalesce(%(chapters)s, chapters_asset_id),
       duration_seconds = coalesce(%(duration)s, duration_seconds)
 WHERE id = %(id)s
RETURNING *

-- name: asset_by_id
SELECT id, name, type, path, metadata, created_at, updated_at FROM assets WHERE id = %(id)s

-- name: voice_lines
SELECT lines_synthesized, lines_total FROM episode_renders
 WHERE workflow_id = %(workflow_id)s::uuid

-- name: record_download_day
INSERT INTO episode_download_days (episode_id, day, client_hash, media)
VALUES (%(episode_id)s, (LOCALTIMESTAMP)::date, %(client_hash)s, %(media)s)
ON CONFLICT DO NOTHING
RETURNING day

-- name: workflow_steps
SELECT step_name, agent_name, task_type, status, attempts, started_at, completed_at, error_details, output_summary
  FROM task_instances WHERE workflow_id = %(workflow_id)s
 ORDER BY created_at, step_name

-- name: workflow_row
SELECT workflow_id, definition_name, definition_version, status, error_message, started_at, completed_at,
       created_at, updated_at
  FROM workflow_instances WHERE workflow_id = %(workflow_id)s

-- name: render_asset
-- one audio version's media (aether.podcasts.studio), for its own URLs
SELECT version, audio_asset_id, video_asset_id, transcript_asset_id, chapters_asset_id
  FROM episode_renders WHERE episode_id = %(episode_id)s::uuid AND version = %(version)s AND status = 'ready'

-- name: latest_render
-- the episode's newest audio version, made or being made (its workflow is the one to follow)
SELECT version, workflow_id, status FROM episode_renders
 WHERE episode_id = %(episode_id)s::uuid ORDER BY version DESC LIMIT 1

-- name: ready_render
SELECT version, lines_total, lines_synthesized FROM episode_renders
 WHERE episode_id = %(episode_id)s::uuid AND status = 'ready' ORDER BY version DESC LIMIT 1
