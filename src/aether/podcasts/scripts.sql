-- Queries of aether.podcasts.scripts: an episode's script versions.

-- name: insert_version
INSERT INTO episode_scripts (episode_id, version, script, author)
VALUES (%(episode_id)s, %(version)s, %(script)s, %(author)s)
ON CONFLICT (episode_id, version) DO NOTHING;

-- name: latest_version
SELECT version, script FROM episode_scripts WHERE episode_id = %(episode_id)s ORDER BY version DESC LIMIT 1;

-- name: version
SELECT script FROM episode_scripts WHERE episode_id = %(episode_id)s AND version = %(version)s;

-- name: history
SELECT version, author, created_at, (script ->> 'word_count')::int AS words
  FROM episode_scripts WHERE episode_id = %(episode_id)s ORDER BY version;

-- name: lock_episode
SELECT id, status FROM episodes WHERE id = %(episode_id)s FOR UPDATE;
