-- 0006: security. PostgreSQL roles with least privilege (aether_owner, aether_app, aether_readonly), the
-- append-only audit log written by triggers, the key ring of data keys that seal credentials, and the
-- agents registry's status columns. Roles are cluster-wide, so they are created idempotently (several
-- databases of one cluster run this file); grants are per database.
SET LOCAL timezone TO 'UTC';

-- ---------------------------------------------------------------------------------------------
-- 1. Roles (cluster-wide; LOGIN so that a URL can name them where the server allows it, e.g. the
--    embedded server's trust auth or an external server after ALTER ROLE ... PASSWORD)
-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
  r TEXT;
BEGIN
  FOREACH r IN ARRAY ARRAY['aether_owner', 'aether_app', 'aether_readonly'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I LOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- another database's migration created it meanwhile
      END;
    END IF;
  END LOOP;
  -- A migrating user who is not a superuser must be able to act as the three roles (SET ROLE, ownership).
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    FOREACH r IN ARRAY ARRAY['aether_owner', 'aether_app', 'aether_readonly'] LOOP
      IF r <> current_user AND NOT pg_has_role(current_user, r, 'MEMBER') THEN
        BEGIN
          EXECUTE format('GRANT %I TO %I', r, current_user);
        EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
          RAISE NOTICE 'aether: % cannot be granted to %; grant it as a superuser', r, current_user;
        END;
      END IF;
    END LOOP;
  END IF;
  IF NOT pg_has_role('aether_readonly', 'pg_monitor', 'MEMBER') THEN
    BEGIN
      GRANT pg_monitor TO aether_readonly;
    EXCEPTION WHEN others THEN
      RAISE NOTICE 'aether: pg_monitor not granted to aether_readonly: %', SQLERRM;
    END;
  END IF;
END $$;

-- ---------------------------------------------------------------------------------------------
-- 2. Key ring: data keys that seal credential values, each wrapped (AES-256-GCM) by the master key
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS data_keys (
  key_id VARCHAR(64) PRIMARY KEY CHECK (key_id ~ '^[a-z0-9-]+$'),
  version INTEGER NOT NULL UNIQUE CHECK (version > 0),
  status VARCHAR(20) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retiring', 'retired')),
  wrapped_key TEXT,
  master_key_id VARCHAR(64) NOT NULL,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  retired_at TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT data_keys_retired_have_no_key CHECK ((status = 'retired') = (wrapped_key IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_data_keys_one_active ON data_keys ((TRUE)) WHERE status = 'active';
DROP TRIGGER IF EXISTS trg_data_keys_updated_at ON data_keys;
CREATE TRIGGER trg_data_keys_updated_at BEFORE UPDATE ON data_keys
  FOR EACH ROW EXECUTE FUNCTION aether_touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- 3. Credentials: only sealed values (enc:v1:<key id>:<base64url nonce||ciphertext||tag>), one value
--    per (agent, platform, key); the sealing key is a generated column so rotation finds old rows fast
-- ---------------------------------------------------------------------------------------------
ALTER TABLE credentials DROP CONSTRAINT IF EXISTS credentials_value_sealed;
ALTER TABLE credentials ADD CONSTRAINT credentials_value_sealed
  CHECK (credential_value ~ '^enc:v1:[a-z0-9-]+:[A-Za-z0-9_-]+={0,2}$');
ALTER TABLE credentials ADD COLUMN IF NOT EXISTS data_key_id VARCHAR(64)
  GENERATED ALWAYS AS (split_part(credential_value, ':', 3)) STORED;
ALTER TABLE credentials DROP CONSTRAINT IF EXISTS credentials_data_key_id_fkey;
ALTER TABLE credentials ADD CONSTRAINT credentials_data_key_id_fkey
  FOREIGN KEY (data_key_id) REFERENCES data_keys(key_id);
CREATE INDEX IF NOT EXISTS idx_credentials_data_key_id ON credentials(data_key_id);
CREATE UNIQUE INDEX IF NOT EXISTS idx_credentials_identity
  ON credentials (COALESCE(agent_id, 0), platform, credential_key);

-- ---------------------------------------------------------------------------------------------
-- 4. Agents: status with a reason (a handler that needs a person sets `error` and says why)
-- ---------------------------------------------------------------------------------------------
ALTER TABLE agents ADD COLUMN IF NOT EXISTS status_reason TEXT;
ALTER TABLE agents ADD COLUMN IF NOT EXISTS status_changed_at TIMESTAMP;
ALTER TABLE agents DROP CONSTRAINT IF EXISTS agents_status_check;
ALTER TABLE agents ADD CONSTRAINT agents_status_check CHECK (status IN ('inactive', 'active', 'error'));

-- ---------------------------------------------------------------------------------------------
-- 5. The audit log: append-only, written only by the SECURITY DEFINER trigger functions below
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS audit_log (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at TIMESTAMP NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
  actor VARCHAR(200) NOT NULL,
  action VARCHAR(10) NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
  table_name VARCHAR(128) NOT NULL,
  row_id TEXT,
  changes JSONB NOT NULL DEFAULT '{}'::jsonb,
  transaction_id BIGINT NOT NULL,
  client_addr INET,
  db_user VARCHAR(128) NOT NULL DEFAULT session_user
);
CREATE INDEX IF NOT EXISTS idx_audit_log_occurred_at ON audit_log(occurred_at);
CREATE INDEX IF NOT EXISTS idx_audit_log_table_row ON audit_log(table_name, row_id);
CREATE INDEX IF NOT EXISTS idx_audit_log_actor ON audit_log(actor, id);
CREATE INDEX IF NOT EXISTS idx_audit_log_transaction ON audit_log(transaction_id);

-- Columns whose values never reach the audit log (recorded as {"redacted": true} when they change).
CREATE OR REPLACE FUNCTION aether_audit_is_secret(col TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE AS $$
  SELECT col IN ('credential_value', 'wrapped_key')
      OR col LIKE '%password%' OR col LIKE '%secret%' OR col LIKE '%token_hash'
      OR col LIKE '%\_token' OR col LIKE '%api\_key%'
$$;

-- {"column": {"old": ..., "new": ...}} for the columns that differ (insert: "new" only; delete: "old" only).
CREATE OR REPLACE FUNCTION aether_audit_diff(old_doc JSONB, new_doc JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_object_agg(k.key,
           CASE WHEN aether_audit_is_secret(k.key) THEN '{"redacted": true}'::jsonb
                WHEN old_doc IS NULL THEN jsonb_build_object('new', new_doc -> k.key)
                WHEN new_doc IS NULL THEN jsonb_build_object('old', old_doc -> k.key)
                ELSE jsonb_build_object('old', old_doc -> k.key, 'new', new_doc -> k.key) END), '{}'::jsonb)
  FROM jsonb_object_keys(coalesce(old_doc, '{}'::jsonb) || coalesce(new_doc, '{}'::jsonb)) AS k(key)
  WHERE old_doc IS NULL OR new_doc IS NULL OR (old_doc -> k.key) IS DISTINCT FROM (new_doc -> k.key)
$$;

-- The primary key's columns of a table, in key order.
CREATE OR REPLACE FUNCTION aether_audit_pk_columns(rel REGCLASS) RETURNS TEXT[]
LANGUAGE sql STABLE AS $$
  SELECT coalesce(array_agg(a.attname::TEXT ORDER BY k.ord), '{}'::TEXT[])
  FROM pg_index i
  CROSS JOIN LATERAL unnest(i.indkey::INT2[]) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
  WHERE i.indrelid = rel AND i.indisprimary
$$;

-- The row's key as text: the value of a one-column key, a JSON array for a composite one.
CREATE OR REPLACE FUNCTION aether_audit_row_id(doc JSONB, pk TEXT[]) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN cardinality(pk) = 0 THEN NULL
              WHEN cardinality(pk) = 1 THEN doc ->> pk[1]
              ELSE (SELECT jsonb_agg(doc -> u.col ORDER BY u.ord)::TEXT FROM unnest(pk) WITH ORDINALITY AS u(col, ord))
         END
$$;

-- Who: `SET LOCAL aether.actor` of the transaction; else `system` for Aether's own processes, or
-- db:<user> for someone connected with psql or another tool.
CREATE OR REPLACE FUNCTION aether_audit_actor() RETURNS TEXT
LANGUAGE sql STABLE AS $$
  SELECT left(coalesce(
    nullif(current_setting('aether.actor', true), ''),
    CASE WHEN current_setting('application_name', true) LIKE 'aether%' THEN 'system'
         ELSE 'db:' || session_user END), 200)
$$;

-- The database role doing the change: the SET ROLE role if any, else the session user.
CREATE OR REPLACE FUNCTION aether_audit_db_user() RETURNS TEXT
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN coalesce(current_setting('role', true), 'none') <> 'none'
              THEN current_setting('role', true) ELSE session_user::TEXT END
$$;

-- The client's address: `SET LOCAL aether.client_addr` (the gateway's caller), else the connection's.
CREATE OR REPLACE FUNCTION aether_audit_client_addr() RETURNS INET
LANGUAGE plpgsql STABLE AS $$
DECLARE
  given TEXT := current_setting('aether.client_addr', true);
BEGIN
  IF given IS NOT NULL AND given <> '' THEN
    BEGIN
      RETURN given::INET;
    EXCEPTION WHEN others THEN
      RETURN inet_client_addr();
    END;
  END IF;
  RETURN inet_client_addr();
END $$;

-- Row-level: every insert, update and delete of a fully audited table.
CREATE OR REPLACE FUNCTION aether_audit_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  old_doc JSONB;
  new_doc JSONB;
BEGIN
  IF TG_OP <> 'INSERT' THEN old_doc := to_jsonb(OLD); END IF;
  IF TG_OP <> 'DELETE' THEN new_doc := to_jsonb(NEW); END IF;
  INSERT INTO audit_log (actor, action, table_name, row_id, changes, transaction_id, client_addr, db_user)
  VALUES (aether_audit_actor(), lower(TG_OP), TG_TABLE_NAME,
          aether_audit_row_id(coalesce(new_doc, old_doc), aether_audit_pk_columns(TG_RELID)),
          aether_audit_diff(old_doc, new_doc), pg_current_xact_id()::TEXT::BIGINT,
          aether_audit_client_addr(), aether_audit_db_user());
  RETURN NULL;
END $$;

-- Statement-level: the deleted rows of any other table, one audit row each, set-based.
CREATE OR REPLACE FUNCTION aether_audit_delete_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  pk TEXT[] := aether_audit_pk_columns(TG_RELID);
  who TEXT := aether_audit_actor();
  xid BIGINT := pg_current_xact_id()::TEXT::BIGINT;
  addr INET := aether_audit_client_addr();
  db_role TEXT := aether_audit_db_user();
BEGIN
  INSERT INTO audit_log (actor, action, table_name, row_id, changes, transaction_id, client_addr, db_user)
  SELECT who, 'delete', TG_TABLE_NAME, aether_audit_row_id(d.doc, pk), aether_audit_diff(d.doc, NULL),
         xid, addr, db_role
  FROM (SELECT to_jsonb(o) AS doc FROM aether_deleted_rows o) AS d;
  RETURN NULL;
END $$;

-- Attach auditing to a table: every change (all_changes) or deletes only. Idempotent; never downgrades a
-- fully audited table. Later migrations call it for the tables they create:
--   SELECT aether_audit_attach('my_table');            -- deletes
--   SELECT aether_audit_attach('my_table', TRUE);      -- inserts, updates and deletes
CREATE OR REPLACE FUNCTION aether_audit_attach(tbl REGCLASS, all_changes BOOLEAN DEFAULT FALSE) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
  IF tbl = 'audit_log'::REGCLASS THEN
    RAISE EXCEPTION 'audit_log is not audited by triggers (pruning is recorded by aether_audit_prune)'
      USING ERRCODE = '22023';
  END IF;
  IF NOT all_changes AND EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = tbl AND tgname = 'aether_audit') THEN
    RETURN;
  END IF;
  EXECUTE format('DROP TRIGGER IF EXISTS aether_audit ON %s', tbl);
  EXECUTE format('DROP TRIGGER IF EXISTS aether_audit_delete ON %s', tbl);
  IF all_changes THEN
    EXECUTE format('CREATE TRIGGER aether_audit AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION aether_audit_row()', tbl);
  ELSE
    EXECUTE format('CREATE TRIGGER aether_audit_delete AFTER DELETE ON %s '
                   'REFERENCING OLD TABLE AS aether_deleted_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION aether_audit_delete_rows()', tbl);
  END IF;
END $$;

CREATE OR REPLACE FUNCTION aether_audit_detach(tbl REGCLASS) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS aether_audit ON %s', tbl);
  EXECUTE format('DROP TRIGGER IF EXISTS aether_audit_delete ON %s', tbl);
END $$;

-- Append-only: no update ever; deletes only inside aether_audit_prune.
CREATE OR REPLACE FUNCTION aether_audit_log_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('aether.audit_prune', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % is refused (retention pruning goes through aether_audit_prune)', TG_OP
    USING ERRCODE = '42501';
END $$;
DROP TRIGGER IF EXISTS aether_audit_log_guard ON audit_log;
CREATE TRIGGER aether_audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION aether_audit_log_guard();

-- Retention: delete audit rows older than `keep` (at least one day) and record the pruning itself.
CREATE OR REPLACE FUNCTION aether_audit_prune(keep INTERVAL) RETURNS BIGINT
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  cutoff TIMESTAMP;
  pruned BIGINT;
BEGIN
  IF keep IS NULL OR keep < INTERVAL '1 day' THEN
    RAISE EXCEPTION 'audit retention must be at least 1 day (got %)', keep USING ERRCODE = '22023';
  END IF;
  cutoff := (clock_timestamp() AT TIME ZONE 'UTC') - keep;
  PERFORM set_config('aether.audit_prune', 'on', true);
  DELETE FROM audit_log WHERE occurred_at < cutoff;
  GET DIAGNOSTICS pruned = ROW_COUNT;
  PERFORM set_config('aether.audit_prune', 'off', true);
  INSERT INTO audit_log (actor, action, table_name, row_id, changes, transaction_id, client_addr, db_user)
  VALUES (aether_audit_actor(), 'delete', 'audit_log', NULL,
          jsonb_build_object('pruned', pruned, 'older_than', cutoff), pg_current_xact_id()::TEXT::BIGINT,
          aether_audit_client_addr(), aether_audit_db_user());
  RETURN pruned;
END $$;

-- Every table of the schema: full auditing for the security-relevant ones, deletes for the rest.
DO $$
DECLARE
  t RECORD;
BEGIN
  FOR t IN
    SELECT c.oid::REGCLASS AS rel, c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'audit_log'
  LOOP
    PERFORM aether_audit_attach(t.rel,
      t.relname IN ('agents', 'credentials', 'assets', 'users', 'subscribers', 'data_keys'));
  END LOOP;
END $$;

-- Tables that later migrations (or maintenance) create get the delete trigger automatically when the
-- migrating user may create event triggers (a superuser, as on the embedded server); otherwise those
-- migrations call aether_audit_attach() themselves.
CREATE OR REPLACE FUNCTION aether_audit_on_create_table() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  obj RECORD;
BEGIN
  FOR obj IN
    SELECT c.oid::REGCLASS AS rel
    FROM pg_event_trigger_ddl_commands() cmd
    JOIN pg_class c ON c.oid = cmd.objid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE cmd.object_type = 'table' AND n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND c.relpersistence <> 't' AND NOT c.relispartition AND c.relname <> 'audit_log'
  LOOP
    BEGIN
      PERFORM aether_audit_attach(obj.rel);
    EXCEPTION WHEN others THEN
      RAISE WARNING 'aether: no audit trigger on %: %', obj.rel, SQLERRM;
    END;
  END LOOP;
END $$;

DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    DROP EVENT TRIGGER IF EXISTS aether_audit_new_tables;
    CREATE EVENT TRIGGER aether_audit_new_tables ON ddl_command_end
      WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO')
      EXECUTE FUNCTION aether_audit_on_create_table();
  END IF;
END $$;

-- ---------------------------------------------------------------------------------------------
-- 6. Ownership and privileges in this database
-- ---------------------------------------------------------------------------------------------
-- The SECURITY DEFINER audit functions run as aether_owner (never as a superuser, never as the caller).
-- Migrations run as aether_owner (external servers) or as the superuser (the embedded server); either
-- way aether_owner has every right on the schema's tables.
DO $$
BEGIN
  IF pg_has_role(current_user, 'aether_owner', 'MEMBER') THEN
    ALTER FUNCTION aether_audit_row() OWNER TO aether_owner;
    ALTER FUNCTION aether_audit_delete_rows() OWNER TO aether_owner;
    ALTER FUNCTION aether_audit_prune(INTERVAL) OWNER TO aether_owner;
  ELSE
    RAISE NOTICE 'aether: % is not a member of aether_owner; the audit functions keep their owner', current_user;
  END IF;
END $$;

DO $$
BEGIN
  EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO aether_app, aether_readonly', current_database());
  EXECUTE format('GRANT CONNECT, CREATE, TEMPORARY ON DATABASE %I TO aether_owner', current_database());
END $$;

-- Nobody but the owner creates objects in the schema (PostgreSQL < 15 lets PUBLIC do so by default).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO aether_owner;
GRANT USAGE ON SCHEMA public TO aether_app, aether_readonly;
GRANT ALL ON ALL TABLES IN SCHEMA public TO aether_owner;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO aether_owner;

-- aether_app: data access only.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO aether_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO aether_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM aether_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM aether_app;
REVOKE DELETE, TRUNCATE ON data_keys FROM aether_app;

-- aether_readonly: reads everything (monitoring, analytics, pg_dump backups).
GRANT SELECT ON ALL TABLES IN SCHEMA public TO aether_readonly;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO aether_readonly;

-- Tables and sequences that later migrations create get the same grants.
DO $$
DECLARE
  r TEXT;
BEGIN
  FOR r IN SELECT DISTINCT unnest(ARRAY['aether_owner', current_user::TEXT]) LOOP
    IF pg_has_role(current_user, r, 'MEMBER') THEN
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT ALL ON TABLES TO aether_owner', r);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT ALL ON SEQUENCES TO aether_owner', r);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                     'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO aether_app', r);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                     'GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO aether_app', r);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                     'GRANT SELECT ON TABLES TO aether_readonly', r);
      EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                     'GRANT SELECT ON SEQUENCES TO aether_readonly', r);
    END IF;
  END LOOP;
END $$;

-- Only the owner manages audit triggers and prunes the log.
REVOKE ALL ON FUNCTION aether_audit_attach(REGCLASS, BOOLEAN) FROM PUBLIC;
REVOKE ALL ON FUNCTION aether_audit_detach(REGCLASS) FROM PUBLIC;
REVOKE ALL ON FUNCTION aether_audit_prune(INTERVAL) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION aether_audit_attach(REGCLASS, BOOLEAN) TO aether_owner;
GRANT EXECUTE ON FUNCTION aether_audit_detach(REGCLASS) TO aether_owner;
GRANT EXECUTE ON FUNCTION aether_audit_prune(INTERVAL) TO aether_owner;
