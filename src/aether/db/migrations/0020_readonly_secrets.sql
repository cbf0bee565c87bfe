-- 0020: aether_readonly (monitoring, analytics, read-only tooling) reads every column but the secrets'
-- hashes: users.password_hash and user_sessions.token_hash. PostgreSQL checks column privileges only
-- where no table privilege grants the column, so the table-level SELECT is revoked and SELECT granted
-- on every other column (columns added later stay hidden until granted).
--
-- aether_grant_privileges() (0011), which re-grants table-level SELECT to aether_readonly, becomes
-- aether_grant_table_privileges(); the new aether_grant_privileges() calls it and then hides the
-- columns again, so running it (as 0011 suggests after a migration by another user) keeps them hidden.
SET LOCAL timezone TO 'UTC';

ALTER FUNCTION aether_grant_privileges() RENAME TO aether_grant_table_privileges;

CREATE OR REPLACE FUNCTION aether_hide_secret_columns() RETURNS VOID
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  hidden TEXT[][] := ARRAY[['users', 'password_hash'], ['user_sessions', 'token_hash']];
  i INT;
  visible TEXT;
BEGIN
  FOR i IN 1 .. array_length(hidden, 1) LOOP
    CONTINUE WHEN to_regclass('public.' || hidden[i][1]) IS NULL;
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO visible
      FROM pg_attribute
     WHERE attrelid = ('public.' || hidden[i][1])::regclass AND attnum > 0 AND NOT attisdropped
       AND attname <> hidden[i][2];
    EXECUTE format('REVOKE SELECT ON public.%I FROM aether_readonly', hidden[i][1]);
    EXECUTE format('REVOKE SELECT (%I) ON public.%I FROM aether_readonly', hidden[i][2], hidden[i][1]);
    EXECUTE format('GRANT SELECT (%s) ON public.%I TO aether_readonly', visible, hidden[i][1]);
  END LOOP;
END $$;

CREATE OR REPLACE FUNCTION aether_grant_privileges() RETURNS VOID
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  PERFORM aether_grant_table_privileges();
  PERFORM aether_hide_secret_columns();
END $$;

REVOKE ALL ON FUNCTION aether_grant_table_privileges() FROM PUBLIC;
REVOKE ALL ON FUNCTION aether_hide_secret_columns() FROM PUBLIC;
REVOKE ALL ON FUNCTION aether_grant_privileges() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aether_grant_table_privileges() TO aether_owner;
GRANT EXECUTE ON FUNCTION aether_hide_secret_columns() TO aether_owner;
GRANT EXECUTE ON FUNCTION aether_grant_privileges() TO aether_owner;

SELECT aether_grant_privileges();
