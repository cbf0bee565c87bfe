-- 0009: `analytics` becomes a table range-partitioned by month of `recorded_at`
-- (the seed's "partitioning of large tables (e.g., analytics by date)").
--
-- The seed's columns, defaults, indexes (idx_analytics_agent_id, idx_analytics_recorded_at), the
-- analytics_id_seq sequence and the foreign key to agents stay as they were; the primary key becomes
-- (id, recorded_at) because a partitioned table's unique keys must hold the partition key, which makes
-- recorded_at NOT NULL (existing rows without a time get the migration's time). One partition per month
-- is named analytics_pYYYY_MM; analytics_default catches any row no month partition holds, so no row is
-- ever lost. Existing rows move into their month's partition.
SET LOCAL timezone TO 'UTC';

-- ---------------------------------------------------------------------------------------------
-- 1. Move the plain table aside, freeing its names
-- ---------------------------------------------------------------------------------------------
ALTER TABLE analytics RENAME TO analytics_unpartitioned;
ALTER TABLE analytics_unpartitioned RENAME CONSTRAINT analytics_pkey TO analytics_unpartitioned_pkey;
ALTER TABLE analytics_unpartitioned RENAME CONSTRAINT analytics_agent_id_fkey TO analytics_unpartitioned_agent_id_fkey;
ALTER INDEX idx_analytics_agent_id RENAME TO idx_analytics_unpartitioned_agent_id;
ALTER INDEX idx_analytics_recorded_at RENAME TO idx_analytics_unpartitioned_recorded_at;

-- ---------------------------------------------------------------------------------------------
-- 2. The partitioned table, same columns and defaults (the id sequence is carried over)
-- ---------------------------------------------------------------------------------------------
CREATE TABLE analytics (
  id INTEGER NOT NULL DEFAULT nextval('analytics_id_seq'::regclass),
  agent_id INTEGER,
  metric_name VARCHAR(100) NOT NULL,
  value NUMERIC,
  metadata JSONB,
  recorded_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT analytics_pkey PRIMARY KEY (id, recorded_at),
  CONSTRAINT analytics_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES agents(id)
) PARTITION BY RANGE (recorded_at);

ALTER SEQUENCE analytics_id_seq OWNED BY analytics.id;
CREATE INDEX idx_analytics_agent_id ON analytics(agent_id);
CREATE INDEX idx_analytics_recorded_at ON analytics(recorded_at);
-- dashboards filter by metric and time range
CREATE INDEX idx_analytics_metric_recorded_at ON analytics(metric_name, recorded_at);

CREATE TABLE analytics_default PARTITION OF analytics DEFAULT;

-- ---------------------------------------------------------------------------------------------
-- 3. Partition management
-- ---------------------------------------------------------------------------------------------
-- The partition holding `month` (any time inside it), created if missing. Rows of that month that
-- landed in analytics_default meanwhile move into the new partition, so creating one never fails
-- and never loses a row. Returns the partition's name.
CREATE OR REPLACE FUNCTION aether_analytics_create_partition(month TIMESTAMP) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
  lower_bound TIMESTAMP := date_trunc('month', month);
  upper_bound TIMESTAMP := date_trunc('month', month) + INTERVAL '1 month';
  part TEXT := format('analytics_p%s', to_char(date_trunc('month', month), 'YYYY_MM'));
BEGIN
  IF month IS NULL THEN
    RAISE EXCEPTION 'month must not be NULL' USING ERRCODE = '22004';
  END IF;
  -- one creator at a time (maintenance on several machines)
  PERFORM pg_advisory_xact_lock(hashtext('aether_analytics_partitions'));
  IF to_regclass(part) IS NOT NULL THEN
    RETURN part;
  END IF;
  EXECUTE format('CREATE TABLE %I (LIKE analytics INCLUDING DEFAULTS)', part);
  EXECUTE format(
    'WITH moved AS (DELETE FROM analytics_default WHERE recorded_at >= %L AND recorded_at < %L RETURNING *) '
    'INSERT INTO %I SELECT * FROM moved',
    lower_bound, upper_bound, part);
  EXECUTE format('ALTER TABLE analytics ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                 part, lower_bound, upper_bound);
  RETURN part;
END $$;

-- Month partitions with their bounds, oldest first.
CREATE OR REPLACE FUNCTION aether_analytics_partitions()
RETURNS TABLE (partition_name TEXT, lower_bound TIMESTAMP, upper_bound TIMESTAMP, is_default BOOLEAN)
LANGUAGE sql STABLE AS $$
  SELECT c.relname::TEXT,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::TIMESTAMP,
         (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::TIMESTAMP,
         pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'
  FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = 'analytics'::regclass
  ORDER BY 2 NULLS LAST
$$;

-- Retention: drop every month partition wholly older than `cutoff` and delete older rows that sit in
-- analytics_default. Returns the names of the dropped partitions.
CREATE OR REPLACE FUNCTION aether_analytics_drop_partitions_before(cutoff TIMESTAMP) RETURNS SETOF TEXT
LANGUAGE plpgsql AS $$
DECLARE
  p RECORD;
BEGIN
  IF cutoff IS NULL THEN
    RAISE EXCEPTION 'cutoff must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('aether_analytics_partitions'));
  FOR p IN SELECT * FROM aether_analytics_partitions() WHERE NOT is_default AND upper_bound <= cutoff LOOP
    EXECUTE format('DROP TABLE %I', p.partition_name);
    RETURN NEXT p.partition_name;
  END LOOP;
  DELETE FROM analytics_default WHERE recorded_at < cutoff;
END $$;

-- ---------------------------------------------------------------------------------------------
-- 4. episodes_published: recorded in the transaction that publishes an episode (episodes of 0007)
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION aether_analytics_episode_published() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'published' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'published') THEN
    INSERT INTO analytics (metric_name, value, metadata, recorded_at)
    VALUES ('episodes_published', 1,
            jsonb_build_object('show_id', NEW.show_id, 'episode_id', NEW.id::text, 'agent', 'orchestrator'),
            coalesce(NEW.published_at, CURRENT_TIMESTAMP));
  END IF;
  RETURN NEW;
END $$;

DO $$ BEGIN
  IF to_regclass('episodes') IS NOT NULL THEN
    DROP TRIGGER IF EXISTS trg_episodes_analytics_published ON episodes;
    CREATE TRIGGER trg_episodes_analytics_published AFTER INSERT OR UPDATE OF status ON episodes
      FOR EACH ROW EXECUTE FUNCTION aether_analytics_episode_published();
  END IF;
END $$;

-- ---------------------------------------------------------------------------------------------
-- 5. Move the existing rows: a partition for every month that has rows, plus this month and the next
-- ---------------------------------------------------------------------------------------------
SELECT aether_analytics_create_partition(m)
FROM (
  SELECT DISTINCT date_trunc('month', recorded_at) AS m FROM analytics_unpartitioned WHERE recorded_at IS NOT NULL
  UNION SELECT date_trunc('month', CURRENT_TIMESTAMP::TIMESTAMP)
  UNION SELECT date_trunc('month', CURRENT_TIMESTAMP::TIMESTAMP) + INTERVAL '1 month'
) months
ORDER BY m;

INSERT INTO analytics (id, agent_id, metric_name, value, metadata, recorded_at)
SELECT id, agent_id, metric_name, value, metadata, COALESCE(recorded_at, CURRENT_TIMESTAMP::TIMESTAMP)
FROM analytics_unpartitioned;

DROP TABLE analytics_unpartitioned;
