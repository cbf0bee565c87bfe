-- name: lock_registration
SELECT pg_advisory_xact_lock(4707091)

-- name: insert_user
INSERT INTO users (email, password_hash, display_name, role)
SELECT %(email)s, %(password_hash)s, %(display_name)s,
       CASE WHEN %(role)s::text IS NOT NULL THEN %(role)s::text
            WHEN NOT EXISTS (SELECT 1 FROM users WHERE email <> 'demo@aether.invalid') THEN 'admin'
            ELSE 'user' END
ON CONFLICT ((lower(email))) DO NOTHING
RETURNING id, email, display_name, role, is_active, created_at

-- name: user_for_login
SELECT id, email, password_hash, display_name, role, is_active FROM users WHERE lower(email) = lower(%(email)s)

-- name: user_by_id
SELECT id, email, display_name, role, is_active, last_login_at, created_at FROM users WHERE id = %(id)s

-- name: mark_login
UPDATE users SET last_login_at = LOCALTIMESTAMP WHERE id = %(id)s

-- name: update_password_hash
UPDATE users SET password_hash = %(password_hash)s WHERE id = %(id)s

-- name: list_users
SELECT id, email, display_name, role, is_active, last_login_at, created_at FROM users ORDER BY id LIMIT 1000

-- name: set_user_flags
UPDATE users SET role = coalesce(%(role)s, role), is_active = coalesce(%(is_active)s, is_active)
 WHERE id = %(id)s
RETURNING id, email, display_name, role, is_active, last_login_at, created_at
