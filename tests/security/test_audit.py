"""The audit log: one row per change on the audited tables with the right actor, deletes from every
table, secrets redacted, append-only, queries and filters."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest

from aether.config import Settings
from aether.db.pool import Database
from aether.errors import ValidationFailed
from aether.security import audit, credentials
from aether.security.audit import AuditFilter

# table -> (insert SQL returning id, update SQL, a column the update changes)
AUDITED = {
    "agents": (
        "INSERT INTO agents (name, type) VALUES ('a1', 'tda') RETURNING id",
        "UPDATE agents SET status = 'active' WHERE id = %s",
        "status",
    ),
    "assets": (
        "INSERT INTO assets (name, type, path) VALUES ('cover', 'image', 'file:///x.png') RETURNING id",
        "UPDATE assets SET path = 'file:///y.png' WHERE id = %s",
        "path",
    ),
    "users": (
        "INSERT INTO users (email, password_hash) VALUES ('a@example.org', '$argon2id$v=19$secret-hash') RETURNING id",
        "UPDATE users SET password_hash = '$argon2id$v=19$other-hash', display_name = 'Ann' WHERE id = %s",
        "display_name",
    ),
    "subscribers": (
        "INSERT INTO subscribers (email, confirmation_token_hash) VALUES ('s@example.org', repeat('a', 64)) "
        "RETURNING id",
        "UPDATE subscribers SET status = 'confirmed', confirmation_token_hash = NULL WHERE id = %s",
        "status",
    ),
}


async def _audit_rows(db: Database, table: str, row_id: object) -> list[dict[str, object]]:
    return await db.fetch_all(
        "SELECT actor, action, changes, transaction_id, db_user FROM audit_log "
        "WHERE table_name = %s AND row_id = %s ORDER BY id",
        (table, str(row_id)),
    )


@pytest.mark.parametrize("table", list(AUDITED))
async def test_every_change_on_an_audited_table_leaves_one_row_with_its_actor(db: Database, table: str) -> None:
    insert, update, column = AUDITED[table]
    async with db.transaction(actor="user:7") as conn:
        row = await (await conn.execute(insert)).fetchone()  # type: ignore[arg-type]
        assert row is not None
        row_id = row["id"]
    async with db.transaction(actor="cli:alice") as conn:
        await conn.execute(update, (row_id,))  # type: ignore[arg-type]
    async with db.transaction(actor="agent:tda") as conn:
        await conn.execute(f"DELETE FROM {table} WHERE id = %s", (row_id,))  # type: ignore[arg-type]
    rows = await _audit_rows(db, table, row_id)
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("insert", "user:7"),
        ("update", "cli:alice"),
        ("delete", "agent:tda"),
    ]
    insert_changes, update_changes, delete_changes = (r["changes"] for r in rows)
    assert isinstance(update_changes, dict) and column in update_changes
    assert set(update_changes[column]) == {"old", "new"}
    assert isinstance(insert_changes, dict) and insert_changes["id"] == {"new": row_id}
    assert isinstance(delete_changes, dict) and delete_changes["id"] == {"old": row_id}
    assert rows[0]["db_user"] == "postgres"


async def test_credentials_changes_are_audited_without_their_values(db: Database, settings: Settings) -> None:
    async with db.transaction(actor="user:1") as conn:
        cred = await credentials.add_credential(
            conn, settings, agent=None, platform="openai", key="api_key", value="sk-audited-plaintext-1"
        )
    async with db.transaction(actor="user:2") as conn:
        await credentials.add_credential(
            conn,
            settings,
            agent=None,
            platform="openai",
            key="api_key",
            value="sk-audited-plaintext-2",
            replace=True,
        )
    async with db.transaction(actor="user:3") as conn:
        await credentials.remove_credential(conn, cred.id)
    cred_id = cred.id
    rows = await _audit_rows(db, "credentials", cred_id)
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("insert", "user:1"),
        ("update", "user:2"),
        ("delete", "user:3"),
    ]
    for r in rows:
        assert r["changes"]["credential_value"] == {"redacted": True}  # type: ignore[index]
    everything = str(await db.fetch_all("SELECT * FROM audit_log"))
    assert "sk-audited-plaintext" not in everything and "enc:v1:" not in everything


async def test_secret_columns_are_recorded_as_changed_without_values(db: Database) -> None:
    insert, update, _ = AUDITED["users"]
    async with db.transaction(actor="user:1") as conn:
        row = await (await conn.execute(insert)).fetchone()  # type: ignore[arg-type]
        assert row is not None
        await conn.execute(update, (row["id"],))  # type: ignore[arg-type]
        await conn.execute(
            "INSERT INTO user_sessions (user_id, token_hash, expires_at) "
            "VALUES (%s, repeat('f', 64), now() + interval '1 day')",
            (row["id"],),
        )
        await conn.execute("DELETE FROM user_sessions WHERE user_id = %s", (row["id"],))
    changes = [r["changes"] for r in await _audit_rows(db, "users", row["id"])]
    assert changes[0]["password_hash"] == {"redacted": True}  # type: ignore[index]
    assert changes[1]["password_hash"] == {"redacted": True}  # type: ignore[index]
    assert changes[1]["display_name"] == {"old": None, "new": "Ann"}  # type: ignore[index]
    session = await db.fetch_one("SELECT changes FROM audit_log WHERE table_name = 'user_sessions'")
    assert session is not None and session["changes"]["token_hash"] == {"redacted": True}
    text = str(await db.fetch_all("SELECT changes FROM audit_log"))
    assert "secret-hash" not in text and "other-hash" not in text and "f" * 64 not in text and "a" * 64 not in text


async def test_deletes_from_every_table_are_audited(db: Database) -> None:
    async with db.transaction(actor="system:prune") as conn:
        await conn.execute("INSERT INTO tasks (task_type) VALUES ('a'), ('b'), ('c')")
        await conn.execute("INSERT INTO topics_snippets (type, title) VALUES ('topic', 'One'), ('topic', 'Two')")
    async with db.transaction(actor="system:prune") as conn:
        await conn.execute("DELETE FROM tasks WHERE task_type IN ('a', 'b')")
        await conn.execute("DELETE FROM topics_snippets")
    rows = await db.fetch_all("SELECT table_name, action, actor, row_id, changes FROM audit_log ORDER BY id")
    tasks = [r for r in rows if r["table_name"] == "tasks"]
    topics = [r for r in rows if r["table_name"] == "topics_snippets"]
    assert len(tasks) == 2 and len(topics) == 2
    assert all(r["action"] == "delete" and r["actor"] == "system:prune" for r in tasks + topics)
    assert {r["changes"]["task_type"]["old"] for r in tasks} == {"a", "b"}
    # inserts and updates of tables that are not fully audited are not recorded
    assert not [r for r in rows if r["action"] != "delete"]
    triggers = await db.fetch_all(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             AND c.relname <> 'audit_log'
             AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname LIKE 'aether_audit%%')"""
    )
    assert triggers == [], f"tables without an audit trigger: {triggers}"


async def test_tables_created_later_are_audited_on_delete(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE later_things (id SERIAL PRIMARY KEY, name TEXT)")
        await conn.execute("CREATE TABLE attached_things (k1 INT, k2 TEXT, PRIMARY KEY (k1, k2))")
        await conn.execute("SELECT aether_audit_attach('attached_things', TRUE)")
        await conn.execute("SELECT aether_audit_attach('attached_things')")  # never downgrades
    async with db.transaction(actor="user:9") as conn:
        await conn.execute("INSERT INTO later_things (name) VALUES ('x')")
        await conn.execute("DELETE FROM later_things")
        await conn.execute("INSERT INTO attached_things VALUES (1, 'a')")
        await conn.execute("DELETE FROM attached_things")
    rows = await db.fetch_all("SELECT table_name, action, row_id, actor FROM audit_log ORDER BY id")
    assert [(r["table_name"], r["action"], r["row_id"], r["actor"]) for r in rows] == [
        ("later_things", "delete", "1", "user:9"),
        ("attached_things", "insert", '[1, "a"]', "user:9"),
        ("attached_things", "delete", '[1, "a"]', "user:9"),
    ]


async def test_the_actor_falls_back_to_system_or_the_database_user(db: Database, database_url: str) -> None:
    await db.execute("INSERT INTO agents (name, type) VALUES ('by-aether', 'tda')")
    with psycopg.connect(database_url, application_name="psql", autocommit=True) as conn:
        conn.execute("INSERT INTO agents (name, type) VALUES ('by-psql', 'tda')")
    rows = await db.fetch_all("SELECT actor FROM audit_log WHERE table_name = 'agents' ORDER BY id")
    assert [r["actor"] for r in rows] == ["system", "db:postgres"]


async def test_client_address_and_actor_from_the_audit_context(db: Database) -> None:
    async with db.transaction() as conn:
        await audit.set_audit_context(conn, actor="user:5", client_addr="203.0.113.9")
        await conn.execute("INSERT INTO agents (name, type) VALUES ('x', 'tda')")
    async with db.transaction() as conn:
        await audit.set_audit_context(conn, client_addr="not an address")
        await conn.execute("DELETE FROM agents")
    async with db.connection() as conn:
        entries = await audit.search(conn, AuditFilter(table="agents"))
    assert [(e.action, e.actor, e.client_addr) for e in entries] == [
        ("delete", "system", None),
        ("insert", "user:5", "203.0.113.9"),
    ]
    assert entries[0].transaction_id != entries[1].transaction_id


async def test_the_audit_log_is_append_only_even_for_the_owner(db: Database) -> None:
    await db.execute("INSERT INTO agents (name, type) VALUES ('x', 'tda')", actor="user:1")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        await db.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        await db.execute("DELETE FROM audit_log")
    assert await db.fetch_one("SELECT actor FROM audit_log") == {"actor": "user:1"}


async def test_pruning_keeps_recent_rows_and_records_itself(db: Database) -> None:
    await db.execute("INSERT INTO agents (name, type) VALUES ('x', 'tda')", actor="user:1")
    async with db.transaction(actor="system:maintenance") as conn:
        assert await audit.prune(conn, keep=timedelta(days=30)) == 0
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="at least 1 day"):
            async with conn.transaction():
                await audit.prune(conn, keep=timedelta(hours=1))
    rows = await db.fetch_all("SELECT actor, table_name, action, changes FROM audit_log ORDER BY id")
    assert [(r["table_name"], r["actor"]) for r in rows] == [("agents", "user:1"), ("audit_log", "system:maintenance")]
    assert rows[1]["changes"]["pruned"] == 0


async def test_search_filters(db: Database) -> None:
    await db.execute("INSERT INTO agents (name, type) VALUES ('a', 'tda')", actor="user:1")
    await db.execute("INSERT INTO agents (name, type) VALUES ('b', 'tda')", actor="user:2")
    await db.execute("UPDATE agents SET status = 'active'", actor="cli:root")
    await db.execute("INSERT INTO assets (name, type) VALUES ('n', 'audio')", actor="user:1")
    async with db.connection() as conn:

        async def find(**kw: object) -> list[tuple[str, str, str]]:
            return [(e.table_name, e.action, e.actor) for e in await audit.search(conn, AuditFilter(**kw))]  # type: ignore[arg-type]

        assert await find(table="assets") == [("assets", "insert", "user:1")]
        assert await find(actor="user:*") == [
            ("assets", "insert", "user:1"),
            ("agents", "insert", "user:2"),
            ("agents", "insert", "user:1"),
        ]
        assert await find(actor="user:2") == [("agents", "insert", "user:2")]
        assert await find(action="update") == [("agents", "update", "cli:root")] * 2
        assert await find(table="agents", limit=1) == [("agents", "update", "cli:root")]
        assert await find(since=datetime.now() + timedelta(days=1)) == []
        assert len(await find(since=audit.parse_time("1h", field="since"))) == 5
        newest = (await audit.search(conn, AuditFilter(limit=1)))[0]
        assert len(await find(before_id=newest.id)) == 4
        assert await audit.audited_tables(conn) == ["agents", "assets"]
        assert (await audit.get_entry(conn, newest.id)).to_dict()["table"] == "assets"
        with pytest.raises(ValidationFailed) as err:
            await audit.search(conn, AuditFilter(action="truncate"))
        assert err.value.field == "action"


def test_parse_time() -> None:
    now = datetime(2025, 1, 31, 12, 0, 0)
    assert audit.parse_time("30m", field="since", now=now) == datetime(2025, 1, 31, 11, 30)
    assert audit.parse_time("2d", field="since", now=now) == datetime(2025, 1, 29, 12, 0)
    assert audit.parse_time("2025-01-01", field="since") == datetime(2025, 1, 1)
    assert audit.parse_time("2025-01-01T10:00:00+02:00", field="since") == datetime(2025, 1, 1, 8, 0)
    assert audit.parse_time(None, field="since") is None
    with pytest.raises(ValidationFailed) as err:
        audit.parse_time("yesterday", field="since")
    assert err.value.field == "since"
