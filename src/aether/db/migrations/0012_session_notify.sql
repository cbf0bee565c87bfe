-- 0012: every gateway process keeps checked sessions in memory for a few seconds (aether.gateway.deps).
-- A change that must end or alter a session everywhere at once (logout, revocation, new preferences; a
-- user's role, name, address or active flag) is announced on the channel `aether_sessions`, delivered
-- when the changing transaction commits: `s:<session_id>` or `u:<user_id>`. Gateways LISTEN and forget
-- the session (or all of the user's) at once. Renewals (last_seen_at, expires_at) are not announced.
SET LOCAL timezone TO 'UTC';

CREATE OR REPLACE FUNCTION aether_notify_session_change() RETURNS TRIGGER
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF TG_TABLE_NAME = 'users' THEN
    PERFORM pg_notify('aether_sessions', 'u:' || OLD.id);
  ELSE
    PERFORM pg_notify('aether_sessions', 's:' || OLD.session_id);
  END IF;
  RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS user_sessions_notify_change ON user_sessions;
CREATE TRIGGER user_sessions_notify_change
  AFTER UPDATE ON user_sessions FOR EACH ROW
  WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.preferences IS DISTINCT FROM NEW.preferences
        OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.token_hash IS DISTINCT FROM NEW.token_hash)
  EXECUTE FUNCTION aether_notify_session_change();

DROP TRIGGER IF EXISTS user_sessions_notify_delete ON user_sessions;
CREATE TRIGGER user_sessions_notify_delete
  AFTER DELETE ON user_sessions FOR EACH ROW
  EXECUTE FUNCTION aether_notify_session_change();

DROP TRIGGER IF EXISTS users_notify_change ON users;
CREATE TRIGGER users_notify_change
  AFTER UPDATE ON users FOR EACH ROW
  WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.is_active IS DISTINCT FROM NEW.is_active
        OR OLD.email IS DISTINCT FROM NEW.email OR OLD.display_name IS DISTINCT FROM NEW.display_name
        OR OLD.password_hash IS DISTINCT FROM NEW.password_hash)
  EXECUTE FUNCTION aether_notify_session_change();

DROP TRIGGER IF EXISTS users_notify_delete ON users;
CREATE TRIGGER users_notify_delete
  AFTER DELETE ON users FOR EACH ROW
  EXECUTE FUNCTION aether_notify_session_change();
