-- 0010 scheduled shows and publishing targets: where a show's episodes are published besides its feed
-- (Telegram chats, YouTube, the WebSub hub), and the bookkeeping that lets a show's cron schedule start
-- each episode exactly once (the periodic task `shows.tick`, handler in aether.podcasts.schedule).

SET LOCAL timezone TO 'UTC';

-- ---------------------------------------------------------------------------------------------
-- shows.targets: {"telegram": {"chat_ids": [...]}, "youtube": {...}, "websub": true}; the shape is
-- checked by aether.podcasts.targets (through the gateway's show API); here only that it is an object.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE shows ADD COLUMN IF NOT EXISTS targets JSONB NOT NULL DEFAULT '{}'::jsonb;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'shows_targets_object') THEN
    ALTER TABLE shows ADD CONSTRAINT shows_targets_object CHECK (jsonb_typeof(targets) = 'object');
  END IF;
END $$;

-- ---------------------------------------------------------------------------------------------
-- shows.schedule_fired_at: the cron tick (UTC) of the show's last scheduled run. Setting or changing
-- the schedule sets it to that moment, so a schedule first fires at its next tick; clearing the schedule
-- clears it. The scheduler claims a tick with a conditional UPDATE of this column.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE shows ADD COLUMN IF NOT EXISTS schedule_fired_at TIMESTAMP;
UPDATE shows SET schedule_fired_at = (now() AT TIME ZONE 'UTC')
 WHERE schedule IS NOT NULL AND schedule_fired_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_shows_scheduled ON shows (id) WHERE schedule IS NOT NULL;

CREATE OR REPLACE FUNCTION aether_show_schedule_set() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.schedule IS NULL THEN
    NEW.schedule_fired_at := NULL;
  ELSIF TG_OP = 'INSERT' THEN
    NEW.schedule_fired_at := coalesce(NEW.schedule_fired_at, (now() AT TIME ZONE 'UTC'));
  ELSIF NEW.schedule IS DISTINCT FROM OLD.schedule THEN
    NEW.schedule_fired_at := (now() AT TIME ZONE 'UTC');
  END IF;
  RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS trg_shows_schedule_set ON shows;
CREATE TRIGGER trg_shows_schedule_set BEFORE INSERT OR UPDATE OF schedule ON shows
  FOR EACH ROW EXECUTE FUNCTION aether_show_schedule_set();

-- ---------------------------------------------------------------------------------------------
-- the periodic task (0002) that starts scheduled shows' episodes: one look a minute
-- ---------------------------------------------------------------------------------------------
INSERT INTO periodic_tasks (name, cron, task_type, agent_name, payload, priority, max_attempts)
VALUES ('shows.tick', '* * * * *', 'shows.tick', 'shows', '{}', 1, 3)
ON CONFLICT (name) DO NOTHING;
