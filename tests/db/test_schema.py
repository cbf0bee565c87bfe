"""The live schema against the seeds: every seed column with its type, nullability and default, every
seed index and foreign key; the tables the 000 seed names exist; updated_at is kept by a trigger."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

SEED_DDL = Path(__file__).with_name("seed_004.sql")
SHARED_SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "004_4527577ac5b5a9d1.txt"
SEED_004_TABLES = ["agents", "tasks", "credentials", "assets", "analytics"]
SEED_000_TABLES = [
    "workflow_instances",
    "task_instances",
    "idempotency_keys",
    "topics_snippets",
    "users",
    "user_sessions",
    "subscribers",
    "generated_scripts",
]


def describe(url: str, tables: list[str]) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            """SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default
               FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY(%s)""",
            (tables,),
        ).fetchall()
        indexes = conn.execute(
            """SELECT indexname, tablename, regexp_replace(indexdef, '^.* USING ', '') FROM pg_indexes
               WHERE schemaname = 'public' AND tablename = ANY(%s)""",
            (tables,),
        ).fetchall()
        fks = conn.execute(
            """SELECT tc.table_name, kcu.column_name, ccu.table_name, ccu.column_name
               FROM information_schema.table_constraints tc
               JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name
               JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name
               WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_name = ANY(%s)""",
            (tables,),
        ).fetchall()
    return {
        "columns": {(r[0], r[1]): r[2:] for r in columns},
        "indexes": {r[0]: (r[1], r[2]) for r in indexes},
        "fks": set(fks),
    }


def test_vendored_seed_ddl_matches_the_shared_seed() -> None:
    if not SHARED_SEED.exists():
        pytest.skip("shared/seeds is not beside this checkout")
    blocks = re.findall(r"```sql\n(.*?)```", SHARED_SEED.read_text(), re.S)
    vendored = SEED_DDL.read_text()
    for block in blocks:
        assert block.strip() in vendored


def test_live_schema_has_every_seed_column_index_and_foreign_key(database_url: str, empty_database_url: str) -> None:
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(SEED_DDL.read_text())  # type: ignore[call-overload]
    seed = describe(empty_database_url, SEED_004_TABLES)
    live = describe(database_url, SEED_004_TABLES)

    assert len(seed["columns"]) == 40
    # 0009 partitions analytics by month of recorded_at: its primary key must hold the partition key,
    # which makes recorded_at NOT NULL; everything else stays as the seed has it.
    seed["columns"][("analytics", "recorded_at")] = (
        *seed["columns"][("analytics", "recorded_at")][:2],
        "NO",
        "CURRENT_TIMESTAMP",
    )
    seed["indexes"]["analytics_pkey"] = ("analytics", "btree (id, recorded_at)")
    for key, expected in seed["columns"].items():
        assert key in live["columns"], f"column {key} of the seed is missing"
        assert live["columns"][key] == expected, f"column {key} differs from the seed"
    for name, expected in seed["indexes"].items():
        assert name in live["indexes"], f"index {name} of the seed is missing"
        assert live["indexes"][name] == expected
    assert seed["fks"] <= live["fks"]
    assert len(seed["fks"]) == 3


def test_every_table_the_000_seed_names_exists_with_a_primary_key(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """SELECT tc.table_name FROM information_schema.table_constraints tc
               WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = 'public'"""
        ).fetchall()
    with_pk = {r[0] for r in rows}
    for table in SEED_000_TABLES + SEED_004_TABLES:
        assert table in with_pk, table


def test_every_table_is_documented(database_url: str) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text()
    with psycopg.connect(database_url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE '%%_p20%%'"
            ).fetchall()
        ]
    for table in tables:
        assert f"`{table}`" in doc, f"table {table} is not described in docs/schema.md"


def test_updated_at_is_maintained_by_a_trigger(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO agents (name, type, updated_at) VALUES ('a', 'music', '2001-01-01') RETURNING id"
        ).fetchone()
        assert row is not None
        conn.execute("UPDATE agents SET status = 'active' WHERE id = %s", (row[0],))
        updated = conn.execute("SELECT updated_at FROM agents WHERE id = %s", (row[0],)).fetchone()
        assert updated is not None and updated[0].year > 2001
        tables_with_column = conn.execute(
            """SELECT c.table_name FROM information_schema.columns c
               JOIN information_schema.tables t USING (table_schema, table_name)
               WHERE c.table_schema = 'public' AND c.column_name = 'updated_at' AND t.table_type = 'BASE TABLE'"""
        ).fetchall()
        triggers = {
            r[0]
            for r in conn.execute(
                "SELECT event_object_table FROM information_schema.triggers WHERE trigger_name LIKE '%%updated_at'"
            ).fetchall()
        }
    for (table,) in tables_with_column:
        assert table in triggers, f"{table}.updated_at has no trigger"


def test_timestamps_are_utc(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        tz = conn.execute("SHOW timezone").fetchone()
    assert tz is not None and tz[0] == "UTC"
