-- name: insert_session
INSERT INTO user_sessions (user_id, token_hash, preferences, user_agent, ip_address, expires_at)
VALUES (%(user_id)s, %(token_hash)s, %(preferences)s, %(user_agent)s, %(ip)s,
        LOCALTIMESTAMP + make_interval(secs => %(ttl_s)s))
RETURNING session_id, user_id, preferences, user_agent, host(ip_address) AS ip_address, created_at, last_seen_at,
          expires_at

-- name: latest_preferences
SELECT preferences FROM user_sessions WHERE user_id = %(user_id)s ORDER BY created_at DESC LIMIT 1

-- name: find_session
SELECT s.session_id, s.user_id, s.preferences, s.last_seen_at, s.expires_at,
       (s.last_seen_at IS NULL OR s.last_seen_at < LOCALTIMESTAMP - make_interval(secs => %(renew_s)s)) AS stale,
       u.email, u.display_name, u.role
  FROM user_sessions s JOIN users u ON u.id = s.user_id
 WHERE s.token_hash = %(token_hash)s AND s.revoked_at IS NULL AND s.expires_at > LOCALTIMESTAMP AND u.is_active

-- name: renew_session
UPDATE user_sessions
   SET last_seen_at = LOCALTIMESTAMP, expires_at = LOCALTIMESTAMP + make_interval(secs => %(ttl_s)s)
 WHERE session_id = %(session_id)s AND revoked_at IS NULL
RETURNING expires_at

-- name: list_sessions
SELECT session_id, user_agent, host(ip_address) AS ip_address, created_at, last_seen_at, expires_at
  FROM user_sessions
 WHERE user_id = %(user_id)s AND revoked_at IS NULL AND expires_at > LOCALTIMESTAMP
 ORDER BY last_seen_at DESC, session_id

-- name: revoke_session
UPDATE user_sessions SET revoked_at = LOCALTIMESTAMP
 WHERE session_id = %(session_id)s AND user_id = %(user_id)s AND revoked_at IS NULL
RETURNING session_id

-- name: revoke_all_sessions
UPDATE user_sessions SET revoked_at = LOCALTIMESTAMP
 WHERE user_id = %(user_id)s AND revoked_at IS NULL

-- name: set_preferences
UPDATE user_sessions SET preferences = %(preferences)s
 WHERE session_id = %(session_id)s AND revoked_at IS NULL
RETURNING preferences

-- name: recent_failures
WITH recent AS (
  SELECT email, attempted_at FROM login_attempts
   WHERE NOT succeeded AND ip_address IS NOT DISTINCT FROM %(ip)s::inet
     AND attempted_at > LOCALTIMESTAMP - make_interval(secs => %(window_s)s)
), last_success AS (
  SELECT coalesce(max(attempted_at), '-infinity'::timestamp) AS at FROM login_attempts
   WHERE succeeded AND lower(email) = lower(%(email)s) AND ip_address IS NOT DISTINCT FROM %(ip)s::inet
)
SELECT count(*) FILTER (WHERE lower(r.email) = lower(%(email)s) AND r.attempted_at > ls.at) AS email_failures,
       min(r.attempted_at) FILTER (WHERE lower(r.email) = lower(%(email)s) AND r.attempted_at > ls.at) AS email_oldest,
       count(*) AS ip_failures,
       min(r.attempted_at) AS ip_oldest,
       LOCALTIMESTAMP AS now
  FROM recent r CROSS JOIN last_success ls

-- name: record_attempt
INSERT INTO login_attempts (email, ip_address, succeeded) VALUES (%(email)s, %(ip)s::inet, %(succeeded)s)

-- name: prune_attempts
DELETE FROM login_attempts WHERE attempted_at < LOCALTIMESTAMP - make_interval(secs => %(keep_s)s)
