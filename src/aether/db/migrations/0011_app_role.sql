-- 0011: the gateway and the workers act as aether_app by default (aether.security.roles), so its grants
-- must cover every table, partition, view and sequence of the schema, including those that migrations
-- after 0006 created, and the few owner-only operations the application needs go through definer
-- functions. Migrations, maintenance and backups keep running as the migrating user (the owner).
SET LOCAL timezone TO 'UTC';

-- ---------------------------------------------------------------------------------------------
-- 1. (Re-)apply the roles' privileges on everything in the schema. Dynamic: whatever exists now gets the
--    grants, whoever created it; the exceptions of 0006 (append-only audit log, the migration record,
--    the key ring) are applied again afterwards. A migration run later by ANOTHER database user may call
--    `SELECT aether_grant_privileges();` (the default privileges below cover the user running this one).
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION aether_grant_privileges() RETURNS VOID
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  r TEXT;
BEGIN
  GRANT ALL ON ALL TABLES IN SCHEMA public TO aether_owner;
  GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO aether_owner;
  GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO aether_app;
  GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO aether_app;
  GRANT SELECT ON ALL TABLES IN SCHEMA public TO aether_readonly;
  GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO aether_readonly;

  -- aether_app: no audit changes, no rewriting of the migration record, no deleting of data keys
  IF to_regclass('public.audit_log') IS NOT NULL THEN
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON public.audit_log FROM aether_app;
  END IF;
  IF to_regclass('public.schema_migrations') IS NOT NULL THEN
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.schema_migrations FROM aether_app;
  END IF;
  IF to_regclass('public.data_keys') IS NOT NULL THEN
    REVOKE DELETE, TRUNCATE ON public.data_keys FROM aether_app;
  END IF;

  -- tables and sequences the migrating user (and aether_owner) create from now on get the same grants
  FOR r IN SELECT DISTINCT unnest(ARRAY['aether_owner', current_user::TEXT]) LOOP
    IF pg_has_role(current_user, r, 'MEMBER') THEN
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT ALL ON TABLES TO aether_owner', r);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT ALL ON SEQUENCES TO aether_owner', r);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                     'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO aether_app', r);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                     'GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO aether_app', r);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT ON TABLES TO aether_readonly', r);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                     'GRANT SELECT ON SEQUENCES TO aether_readonly', r);
    END IF;
  END LOOP;
END $$;

REVOKE ALL ON FUNCTION aether_grant_privileges() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aether_grant_privileges() TO aether_owner;

SELECT aether_grant_privileges();

-- ---------------------------------------------------------------------------------------------
-- 2. Analytics partitions (0009). Creating a month's partition needs the owner of `analytics` (DDL:
--    CREATE TABLE, ATTACH PARTITION), so the function runs as its owner, the migrating user that created
--    both, with a fixed search_path; aether_app may call it (a task or request that records analytics for
--    a month maintenance has not prepared yet). Dropping partitions is retention: owner-only maintenance.
-- ---------------------------------------------------------------------------------------------
-- (public first: the function creates its table unqualified; pg_catalog is still searched first for names,
-- and only the owner may create objects in public)
ALTER FUNCTION aether_analytics_create_partition(TIMESTAMP)
  SECURITY DEFINER SET search_path = public, pg_temp;
REVOKE ALL ON FUNCTION aether_analytics_create_partition(TIMESTAMP) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aether_analytics_create_partition(TIMESTAMP) TO aether_owner, aether_app;

REVOKE ALL ON FUNCTION aether_analytics_drop_partitions_before(TIMESTAMP) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aether_analytics_drop_partitions_before(TIMESTAMP) TO aether_owner;
