"""Least privilege: the migrations' roles; pools that SET ROLE aether_app (AETHER_DATABASE_ROLE) keep data
access and lose DDL and every way of changing the audit log; aether_readonly only reads."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from aether.agents import registry
from aether.config import Settings, load_settings
from aether.db import migrate as migrations
from aether.db.pool import Database, connect
from aether.errors import ConfigError
from aether.security import audit, credentials


def _as_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment))


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"database_role": "aether_app"})


async def test_the_roles_exist(db: Database) -> None:
    rows = await db.fetch_all(
        "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname LIKE 'aether_%%'"
    )
    found = {r["rolname"]: r for r in rows}
    assert {"aether_owner", "aether_app", "aether_readonly"} <= set(found)
    assert not any(r["rolsuper"] or r["rolcreaterole"] or r["rolcreatedb"] for r in found.values())


async def test_the_app_role_has_data_access_but_no_ddl_and_no_audit_changes(
    app_settings: Settings, db: Database
) -> None:
    assert app_settings.database_url is not None
    async with Database(app_settings, app_settings.database_url.get_secret_value()) as app:
        assert await app.fetch_one("SELECT current_user AS u") == {"u": "aether_app"}
        # data access
        await app.execute("INSERT INTO agents (name, type) VALUES ('a', 'tda')", actor="user:1")
        await app.execute("UPDATE agents SET status = 'active'", actor="user:1")
        await app.execute("INSERT INTO tasks (task_type) VALUES ('x')", actor="user:1")
        await app.execute("DELETE FROM tasks", actor="user:1")
        assert await app.fetch_all("SELECT actor FROM audit_log ORDER BY id") == [{"actor": "user:1"}] * 3
        # no DDL
        for statement in (
            "CREATE TABLE sneaky (id INT)",
            "ALTER TABLE agents ADD COLUMN sneaky INT",
            "DROP TABLE analytics",
            "CREATE INDEX sneaky ON agents (name)",
            "TRUNCATE tasks",
            "ALTER TABLE audit_log DISABLE TRIGGER aether_audit_log_guard",
            "DROP TRIGGER aether_audit ON agents",
            "CREATE FUNCTION sneaky() RETURNS INT LANGUAGE sql AS 'SELECT 1'",
            "SELECT aether_audit_detach('agents')",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await app.execute(statement)  # type: ignore[arg-type]
        # no audit changes
        for statement in (
            "UPDATE audit_log SET actor = 'nobody'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "INSERT INTO audit_log (actor, action, table_name, transaction_id) VALUES ('forged', 'insert', 'x', 1)",
            "SELECT aether_audit_prune('1 day')",
            "UPDATE schema_migrations SET checksum = 'x'",
            "DELETE FROM data_keys",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await app.execute(statement)  # type: ignore[arg-type]
    rows = await db.fetch_all("SELECT actor, db_user FROM audit_log ORDER BY id")
    assert len(rows) == 3 and all(r["db_user"] == "aether_app" for r in rows)


async def test_the_async_pool_switches_role_and_the_library_works_under_it(app_settings: Settings) -> None:
    assert app_settings.database_url is not None
    async with Database(app_settings, app_settings.database_url.get_secret_value()) as app:
        async with app.transaction(actor="user:1") as conn:
            assert await (await conn.execute("SELECT current_user AS u")).fetchone() == {"u": "aether_app"}
            await registry.create_agent(conn, name="writer", type="pswa", status="active")
            await credentials.add_credential(
                conn, app_settings, agent="writer", platform="openai", key="api_key", value="sk-app-role-123456"
            )
        got = await credentials.get_secret(app, app_settings, agent="writer", platform="openai", key="api_key")
        assert got == "sk-app-role-123456"
        async with app.connection() as conn:
            entries = await audit.search(conn, audit.AuditFilter(actor="user:1"))
        assert {e.table_name for e in entries} == {"agents", "credentials", "data_keys"}


async def test_a_url_naming_the_app_role_works_too(database_url: str, settings: Settings) -> None:
    url = _as_user(database_url, "aether_app")
    as_app = load_settings(database_url=url, home=settings.home, pool_min_size=1, pool_max_size=2)
    async with Database(as_app, url) as app:
        assert await app.fetch_one("SELECT session_user AS u") == {"u": "aether_app"}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await app.execute("CREATE TABLE sneaky (id INT)")


async def test_the_readonly_role_only_reads(database_url: str, settings: Settings) -> None:
    ro = settings.model_copy(update={"database_role": "aether_readonly"})
    async with Database(ro, database_url) as reader:
        assert await reader.fetch_one("SELECT count(*) AS n FROM audit_log") == {"n": 0}
        assert await reader.fetch_one("SELECT count(*) AS n FROM credentials") == {"n": 0}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await reader.execute("INSERT INTO agents (name, type) VALUES ('a', 'tda')")


async def test_the_readonly_role_cannot_read_password_or_token_hashes(
    database_url: str, settings: Settings, adb: Database
) -> None:
    user = await adb.fetch_one(
        "INSERT INTO users (email, password_hash) VALUES ('ro@example.org', '$argon2id$secret') RETURNING id"
    )
    assert user is not None
    await adb.execute(
        "INSERT INTO user_sessions (user_id, token_hash, expires_at) "
        "VALUES (%s, %s, LOCALTIMESTAMP + interval '1 day')",
        (user["id"], "f" * 64),
    )
    ro = settings.model_copy(update={"database_role": "aether_readonly"})
    async with Database(ro, database_url) as reader:
        assert await reader.fetch_one("SELECT current_user AS u") == {"u": "aether_readonly"}
        row = await reader.fetch_one("SELECT id, email, role, is_active FROM users WHERE id = %s", (user["id"],))
        assert row is not None and row["email"] == "ro@example.org"
        assert await reader.fetch_one("SELECT user_id, expires_at IS NOT NULL AS e FROM user_sessions") == {
            "user_id": user["id"],
            "e": True,
        }
        for query in (
            "SELECT password_hash FROM users",
            "SELECT * FROM users",
            "SELECT token_hash FROM user_sessions",
            "SELECT * FROM user_sessions",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await reader.fetch_all(query)  # type: ignore[arg-type]
    async with adb.connection() as conn:  # running the grants again keeps the hashes hidden
        await conn.execute("SELECT aether_grant_privileges()")
        await conn.commit()
        cur = await conn.execute(
            "SELECT has_column_privilege('aether_readonly', 'users', 'password_hash', 'SELECT') AS pw, "
            "has_column_privilege('aether_readonly', 'user_sessions', 'token_hash', 'SELECT') AS tok, "
            "has_column_privilege('aether_readonly', 'users', 'email', 'SELECT') AS email, "
            "has_column_privilege('aether_app', 'users', 'password_hash', 'SELECT') AS app"
        )
        assert await cur.fetchone() == {"pw": False, "tok": False, "email": True, "app": True}


async def test_an_unknown_database_role_is_a_clear_error(settings: Settings) -> None:
    assert settings.database_url is not None
    wrong = settings.model_copy(update={"database_role": "no_such_role"})
    with pytest.raises(ConfigError) as err:
        await Database(wrong, settings.database_url.get_secret_value()).open()
    assert err.value.field == "AETHER_DATABASE_ROLE" and "no_such_role" in err.value.message


def test_a_malformed_database_role_setting_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(database_role="Robert'); DROP TABLE students;--")
    assert err.value.field == "AETHER_DATABASE_ROLE"


def test_migrations_run_again_in_another_database_of_the_cluster(empty_database_url: str) -> None:
    """Roles are cluster-wide: a second database's migrations find them and only add their grants."""
    with connect(empty_database_url, load_settings(database_url=empty_database_url), autocommit=True) as conn:
        applied = migrations.migrate(conn)
        assert any(m.name == "security" for m in applied)
        granted = conn.execute(
            "SELECT has_table_privilege('aether_app', 'agents', 'INSERT') AS ins, "
            "has_table_privilege('aether_app', 'audit_log', 'UPDATE') AS upd, "
            "has_table_privilege('aether_readonly', 'credentials', 'SELECT') AS sel"
        ).fetchone()
    assert granted == {"ins": True, "upd": False, "sel": True}


async def test_tables_of_later_migrations_get_the_app_grants(db: Database) -> None:
    rows = await db.fetch_all(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
             AND c.relname NOT IN ('audit_log', 'schema_migrations')
             AND NOT has_table_privilege('aether_app', c.oid, 'SELECT, INSERT, UPDATE')"""
    )
    assert rows == []
