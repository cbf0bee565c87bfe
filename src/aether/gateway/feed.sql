-- name: feed_episodes
SELECT e.id, e.guid, e.title, e.description, e.episode_type, e.episode_number, e.duration_seconds,
       e.published_at, e.updated_at, e.render_version,
       a.id AS audio_id, a.path AS audio_path, a.metadata AS audio_meta,
       c.id AS cover_id, c.path AS cover_path, c.metadata AS cover_meta, t.id AS transcript_id,
       t.metadata AS transcript_meta, ch.id AS chapters_id, e.notes
  FROM episodes e
  LEFT JOIN assets a ON a.id = e.audio_asset_id
  LEFT JOIN assets c ON c.id = e.cover_asset_id
  LEFT JOIN assets t ON t.id = e.transcript_asset_id
  LEFT JOIN assets ch ON ch.id = e.chapters_asset_id
 WHERE e.show_id = %(show_id)s AND e.status = 'published' AND e.audio_asset_id IS NOT NULL
 ORDER BY e.published_at DESC, e.id DESC
 LIMIT %(limit)s
