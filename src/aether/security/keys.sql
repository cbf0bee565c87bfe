-- Key ring: data keys wrapped by the master key (see aether.security.keys)

-- name: lock_key_ring
SELECT pg_advisory_xact_lock(4702111234474983745)

-- name: all_keys
SELECT key_id, version, status, wrapped_key, master_key_id, created_at, retired_at
FROM data_keys ORDER BY version

-- name: key_by_id
SELECT key_id, version, status, wrapped_key, master_key_id, created_at, retired_at
FROM data_keys WHERE key_id = %(key_id)s

-- name: active_key_for_share
-- A writer seals under the active key while holding it: rotation cannot retire it under the writer.
SELECT key_id, version, status, wrapped_key, master_key_id, created_at, retired_at
FROM data_keys WHERE status = 'active' FOR SHARE

-- name: insert_key
INSERT INTO data_keys (key_id, version, status, wrapped_key, master_key_id)
VALUES (%(key_id)s, %(version)s, 'active', %(wrapped_key)s, %(master_key_id)s)

-- name: start_retiring_active
UPDATE data_keys SET status = 'retiring' WHERE status = 'active' RETURNING key_id

-- name: rewrap_key
UPDATE data_keys SET wrapped_key = %(wrapped_key)s, master_key_id = %(master_key_id)s
WHERE key_id = %(key_id)s AND status <> 'retired'

-- name: credentials_per_key
SELECT data_key_id, count(*) AS n FROM credentials GROUP BY data_key_id
