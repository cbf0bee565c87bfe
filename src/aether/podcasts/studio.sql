-- Queries of aether.podcasts.studio: review, renders (an episode's audio versions).

-- name: hold_for_review
UPDATE episodes SET status = 'review' WHERE id = %(episode_id)s::uuid AND status = 'processing' RETURNING id

-- name: approve
UPDATE episodes SET status = 'processing' WHERE id = %(episode_id)s::uuid AND status = 'review' RETURNING id

-- name: open_render
-- the next version of the episode's audio, made by this workflow (once: a rerun of the draft finds it)
INSERT INTO episode_renders (episode_id, version, script_version, workflow_id)
SELECT %(episode_id)s::uuid, coalesce(max(version), 0) + 1, %(script_version)s, %(workflow_id)s::uuid
  FROM episode_renders WHERE episode_id = %(episode_id)s::uuid
ON CONFLICT (workflow_id) WHERE workflow_id IS NOT NULL DO NOTHING

-- name: render_of_workflow
SELECT * FROM episode_renders WHERE workflow_id = %(workflow_id)s::uuid

-- name: rendering
SELECT version, workflow_id FROM episode_renders
 WHERE episode_id = %(episode_id)s::uuid AND status = 'rendering' ORDER BY version DESC LIMIT 1

-- name: renders
SELECT version, script_version, workflow_id, status, lines_total, lines_synthesized, audio_asset_id, video_asset_id,
       transcript_asset_id, chapters_asset_id, duration_seconds, created_at, completed_at
  FROM episode_renders WHERE episode_id = %(episode_id)s::uuid ORDER BY version DESC

-- name: render_version
SELECT * FROM episode_renders WHERE episode_id = %(episode_id)s::uuid AND version = %(version)s

-- name: finish_render
UPDATE episode_renders
   SET status = 'ready', completed_at = coalesce(completed_at, CURRENT_TIMESTAMP),
       audio_asset_id = %(audio)s, video_asset_id = %(video)s, transcript_asset_id = %(transcript)s,
       chapters_asset_id = %(chapters)s, duration_seconds = %(duration)s,
       lines_total = %(lines_total)s, lines_synthesized = %(lines_synthesized)s
 WHERE workflow_id = %(workflow_id)s::uuid
RETURNING version

-- name: show_render
-- the episode's media are this version's from now on (the feed's enclosure URL names the version)
UPDATE episodes
   SET render_version = %(version)s, audio_asset_id = %(audio)s, video_asset_id = %(video)s,
       cover_asset_id = coalesce(%(cover)s, cover_asset_id), transcript_asset_id = %(transcript)s,
       chapters_asset_id = %(chapters)s, duration_seconds = coalesce(%(duration)s, duration_seconds)
 WHERE id = %(episode_id)s::uuid AND (render_version IS NULL OR render_version <= %(version)s)
RETURNING id

-- name: step_outputs
SELECT step_name, output_summary FROM task_instances
 WHERE workflow_id = %(workflow_id)s::uuid AND status = 'completed' AND step_name = ANY(%(steps)s)

-- name: prune_render
-- an older audio version goes (never the episode's current one, nor one being made)
DELETE FROM episode_renders r
 USING episodes e
 WHERE r.episode_id = %(episode_id)s::uuid AND r.version = %(version)s AND e.id = r.episode_id
   AND r.status <> 'rendering' AND r.version IS DISTINCT FROM e.render_version
RETURNING r.audio_asset_id, r.video_asset_id, r.transcript_asset_id, r.chapters_asset_id

-- name: delete_unlinked_assets
-- of these assets, those no episode and no other audio version links; returns their objects' URIs
DELETE FROM assets a
 WHERE a.id = ANY(%(ids)s)
   AND NOT EXISTS (SELECT 1 FROM episodes e
                    WHERE a.id IN (e.audio_asset_id, e.video_asset_id, e.cover_asset_id, e.transcript_asset_id,
                                   e.chapters_asset_id))
   AND NOT EXISTS (SELECT 1 FROM episode_renders r
                    WHERE a.id IN (r.audio_asset_id, r.video_asset_id, r.transcript_asset_id, r.chapters_asset_id))
RETURNING a.path
