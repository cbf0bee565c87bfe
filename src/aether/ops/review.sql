-- name: latest_restore
SELECT id, backup_id, target_time, recovered_to, target_dir, credentials_before, restored_at, reviewed_at
FROM restore_events
ORDER BY restored_at DESC, id DESC
LIMIT 1

-- name: credential_metadata
-- Metadata only: the value column is never read here.
SELECT c.id, c.agent_id, a.name AS agent, c.platform, c.credential_key, c.expires_at, c.updated_at
FROM credentials c LEFT JOIN agents a ON a.id = c.agent_id
ORDER BY c.id

-- name: mark_reviewed
UPDATE restore_events SET reviewed_at = CURRENT_TIMESTAMP WHERE id = %(id)s
