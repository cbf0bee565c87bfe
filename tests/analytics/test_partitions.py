"""Monthly partitions of analytics: routing, pruning, creation ahead, retention, the 0009 migration."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from aether.analytics import drop_partitions_older_than, ensure_partitions, list_partitions, record
from aether.analytics.partitions import month_start
from aether.db import Connection
from aether.db import migrate as migrations
from aether.db.migrate import discover
from aether.errors import ValidationFailed


def partition_of(conn: Connection, row_id: int) -> str:
    row = conn.execute("SELECT tableoid::regclass::text AS part FROM analytics WHERE id = %s", (row_id,)).fetchone()
    assert row is not None
    return str(row["part"])


def test_month_start_moves_across_years() -> None:
    assert month_start(date(2025, 1, 31), -1) == datetime(2024, 12, 1)
    assert month_start(date(2025, 11, 5), 3) == datetime(2026, 2, 1)
    assert month_start(date(2025, 3, 1), -27) == datetime(2022, 12, 1)


def test_rows_land_in_their_month_partition(sync_conn: Connection) -> None:
    with sync_conn.transaction():
        ensure_partitions(sync_conn, 2, today=date(2025, 1, 10))
        january = record(sync_conn, "messages_sent", 1, agent="telegram", at=datetime(2025, 1, 31, 23, 59, 59))
        february = record(sync_conn, "messages_sent", 1, agent="telegram", at=datetime(2025, 2, 1))
        march = record(sync_conn, "videos_created", 1, agent="youtube", at=datetime(2025, 3, 15, 12))
        far = record(sync_conn, "videos_created", 1, agent="youtube", at=datetime(2031, 7, 1))
    assert partition_of(sync_conn, january) == "analytics_p2025_01"
    assert partition_of(sync_conn, february) == "analytics_p2025_02"
    assert partition_of(sync_conn, march) == "analytics_p2025_03"
    assert partition_of(sync_conn, far) == "analytics_default"  # never lost, even with no partition for it


def test_creating_a_partition_moves_its_rows_out_of_the_default(sync_conn: Connection) -> None:
    with sync_conn.transaction():
        row_id = record(sync_conn, "episode_downloads", 3, episode_id=7, at=datetime(2032, 5, 9))
    assert partition_of(sync_conn, row_id) == "analytics_default"
    with sync_conn.transaction():
        assert ensure_partitions(sync_conn, 0, today=date(2032, 5, 1)) == ["analytics_p2032_05"]
        assert ensure_partitions(sync_conn, 0, today=date(2032, 5, 20)) == ["analytics_p2032_05"]  # idempotent
    assert partition_of(sync_conn, row_id) == "analytics_p2032_05"
    row = sync_conn.execute("SELECT value, metadata FROM analytics WHERE id = %s", (row_id,)).fetchone()
    assert row is not None and row["value"] == 3 and row["metadata"] == {"episode_id": 7}


def test_a_range_query_touches_only_its_partitions(sync_conn: Connection) -> None:
    with sync_conn.transaction():
        ensure_partitions(sync_conn, 5, today=date(2025, 1, 1))
        for month in range(1, 7):
            record(sync_conn, "episode_downloads", month, at=datetime(2025, month, 10))
        sync_conn.execute("ANALYZE analytics")
    query = """SELECT sum(value) AS total FROM analytics
               WHERE metric_name = 'episode_downloads' AND recorded_at >= %s AND recorded_at < %s"""
    plan = sync_conn.execute(
        "EXPLAIN (FORMAT JSON) " + query,  # type: ignore[arg-type]
        (datetime(2025, 2, 1), datetime(2025, 4, 1)),
    ).fetchone()
    total = sync_conn.execute(query, (datetime(2025, 2, 1), datetime(2025, 4, 1))).fetchone()  # type: ignore[arg-type]
    assert plan is not None and total is not None
    text = json.dumps(plan["QUERY PLAN"])
    touched = sorted({name for name in _relations(plan["QUERY PLAN"]) if name.startswith("analytics")})
    assert touched == ["analytics_p2025_02", "analytics_p2025_03"], text
    assert total["total"] == 2 + 3


def _relations(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if "Relation Name" in node:
            found.append(node["Relation Name"])
        for value in node.values():
            found.extend(_relations(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_relations(item))
    return found


def test_retention_drops_whole_partitions(sync_conn: Connection) -> None:
    with sync_conn.transaction():
        ensure_partitions(sync_conn, 5, today=date(2024, 10, 1))  # Oct 2024 .. Mar 2025
        ids = {
            month: record(sync_conn, "llm_tokens", 100, at=month_start(date(2024, 10, 1), month)) for month in range(6)
        }
        stray = record(sync_conn, "llm_tokens", 5, at=datetime(2020, 1, 1))  # in the default partition
    with sync_conn.transaction():
        dropped = drop_partitions_older_than(sync_conn, 2, today=date(2025, 3, 14))
    assert dropped == ["analytics_p2024_10", "analytics_p2024_11", "analytics_p2024_12"]
    names = [p.name for p in list_partitions(sync_conn)]
    assert "analytics_p2024_12" not in names and "analytics_p2025_01" in names and "analytics_default" in names
    remaining = {r["id"] for r in sync_conn.execute("SELECT id FROM analytics").fetchall()}
    assert remaining == {ids[3], ids[4], ids[5]}
    assert stray not in remaining
    with sync_conn.transaction():
        assert drop_partitions_older_than(sync_conn, 2, today=date(2025, 3, 14)) == []


def test_partition_arguments_are_checked(sync_conn: Connection) -> None:
    with sync_conn.transaction():
        with pytest.raises(ValidationFailed) as err:
            ensure_partitions(sync_conn, -1)
        assert err.value.field == "months_ahead"
        with pytest.raises(ValidationFailed) as err:
            drop_partitions_older_than(sync_conn, 0)
        assert err.value.field == "months"


def test_ensure_partitions_uses_the_database_clock(sync_conn: Connection) -> None:
    with sync_conn.transaction():
        names = ensure_partitions(sync_conn, 1)
        today = sync_conn.execute("SELECT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')::date AS d").fetchone()
    assert today is not None
    assert names == [f"analytics_p{month_start(today['d'], k):%Y_%m}" for k in (0, 1)]


def test_the_migration_keeps_existing_rows(empty_database_url: str) -> None:
    from aether.config import load_settings
    from aether.db.pool import connect

    files = discover()
    with connect(empty_database_url, load_settings(database_url=empty_database_url), autocommit=True) as conn:
        migrations.migrate(conn, [m for m in files if m.version < 9])
        conn.execute("INSERT INTO agents (name, type) VALUES ('telegram', 'telegram')")
        conn.execute(
            """INSERT INTO analytics (agent_id, metric_name, value, metadata, recorded_at) VALUES
               (1, 'messages_sent', 1, '{"chat_id": "@a"}', '2023-03-05 10:00'),
               (1, 'messages_sent', 2, NULL, '2023-03-31 23:59:59'),
               (NULL, 'llm_tokens', 300, NULL, '2024-11-01')"""
        )
        columns = "id, agent_id, metric_name, value, metadata, recorded_at"
        old = conn.execute(f"SELECT {columns} FROM analytics ORDER BY id").fetchall()  # type: ignore[arg-type]
        migrations.migrate(conn, files)
        new = conn.execute(f"SELECT {columns} FROM analytics ORDER BY id").fetchall()  # type: ignore[arg-type]
        parts = conn.execute("SELECT tableoid::regclass::text AS p FROM analytics ORDER BY id").fetchall()
        kind = conn.execute("SELECT relkind FROM pg_class WHERE relname = 'analytics'").fetchone()
        next_id = conn.execute(
            "INSERT INTO analytics (metric_name, value) VALUES ('x', 1) RETURNING id, tableoid::regclass::text AS p"
        ).fetchone()
    assert old == new
    assert [p["p"] for p in parts] == ["analytics_p2023_03", "analytics_p2023_03", "analytics_p2024_11"]
    assert kind is not None and kind["relkind"] == "p"
    assert next_id is not None and next_id["id"] == 4 and next_id["p"].startswith("analytics_p20")


def test_the_migration_applies_with_the_runner(empty_database_url: str) -> None:
    from aether.config import load_settings
    from aether.db.pool import connect

    with connect(empty_database_url, load_settings(database_url=empty_database_url), autocommit=True) as conn:
        migrations.migrate(conn)
        row = conn.execute("SELECT count(*) AS n FROM aether_analytics_partitions() WHERE is_default").fetchone()
    assert row is not None and row["n"] == 1
