-- 0013: gateways keep rendered pages of a show's episode list in memory (aether.gateway.announce). Any
-- change to a show's episodes, or to who owns the show, is announced on `aether_episodes` with the
-- show's id when the changing transaction commits (`*` after a TRUNCATE: forget everything).
SET LOCAL timezone TO 'UTC';

CREATE OR REPLACE FUNCTION aether_notify_episode_change() RETURNS TRIGGER
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF TG_LEVEL = 'STATEMENT' THEN
    PERFORM pg_notify('aether_episodes', '*');
  ELSIF TG_TABLE_NAME = 'shows' THEN
    PERFORM pg_notify('aether_episodes', OLD.id::text);
  ELSE
    IF TG_OP <> 'INSERT' THEN
      PERFORM pg_notify('aether_episodes', OLD.show_id::text);
    END IF;
    IF TG_OP <> 'DELETE' THEN
      PERFORM pg_notify('aether_episodes', NEW.show_id::text);
    END IF;
  END IF;
  RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS episodes_notify_change ON episodes;
CREATE TRIGGER episodes_notify_change
  AFTER INSERT OR UPDATE OR DELETE ON episodes FOR EACH ROW
  EXECUTE FUNCTION aether_notify_episode_change();

DROP TRIGGER IF EXISTS episodes_notify_truncate ON episodes;
CREATE TRIGGER episodes_notify_truncate
  AFTER TRUNCATE ON episodes FOR EACH STATEMENT
  EXECUTE FUNCTION aether_notify_episode_change();

DROP TRIGGER IF EXISTS shows_notify_change ON shows;
CREATE TRIGGER shows_notify_change
  AFTER UPDATE OF user_id OR DELETE ON shows FOR EACH ROW
  EXECUTE FUNCTION aether_notify_episode_change();
