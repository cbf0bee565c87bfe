"""The access layer: pooled connections, named-query timing, replica routing, clear connection errors."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from aether.config import Settings, load_settings
from aether.db.pool import Database, describe_target
from aether.db.queries import Query, parse_queries
from aether.db.stats import STATS
from aether.errors import DatabaseUnavailable


async def test_named_queries_are_timed_by_name(db: Database) -> None:
    queries = parse_queries("-- name: count_agents\nSELECT count(*) AS n FROM agents;\n")
    before = STATS.snapshot().get("count_agents")
    for _ in range(7):
        row = await db.fetch_one(queries["count_agents"])
        assert row == {"n": 0}
    after = STATS.snapshot()["count_agents"]
    assert after.count - (before.count if before else 0) == 7
    assert after.total_s > 0 and sum(after.buckets) == after.count


async def test_repeated_queries_are_prepared(db: Database) -> None:
    query = Query("SELECT %s::int + 1 AS v", "plus_one")
    async with db.connection() as conn:
        for i in range(8):
            assert await (await conn.execute(query, (i,))).fetchone() == {"v": i + 1}
        prepared = await (await conn.execute("SELECT count(*) AS n FROM pg_prepared_statements")).fetchone()
    assert prepared is not None and prepared["n"] >= 1


async def test_readonly_work_goes_to_the_replica(
    settings: Settings, empty_database_url: str, database_url: str
) -> None:
    # A second database stands in for the replica here; issue tests for streaming replicas use a real one.
    async with Database(settings, database_url, replica_url=empty_database_url) as db:
        primary = await db.fetch_one("SELECT current_database() AS name")
        replica = await db.fetch_one("SELECT current_database() AS name", readonly=True)
        async with db.transaction(readonly=True) as conn:
            ro = await (await conn.execute("SHOW transaction_read_only")).fetchone()
    assert primary is not None and replica is not None and primary["name"] != replica["name"]
    assert replica["name"] == urlsplit(empty_database_url).path.lstrip("/")
    assert ro == {"transaction_read_only": "on"}


async def test_actor_is_set_locally_in_the_transaction(db: Database) -> None:
    async with db.transaction(actor="user:42") as conn:
        assert await (await conn.execute("SELECT current_setting('aether.actor') AS a")).fetchone() == {"a": "user:42"}
    async with db.connection() as conn:
        row = await (await conn.execute("SELECT current_setting('aether.actor', true) AS a")).fetchone()
    assert row is not None and not row["a"]


async def test_connection_failure_names_host_and_database_without_password() -> None:
    url = "postgresql://bob:hunter2@127.0.0.1:1/somedb"
    settings = load_settings(database_url=url, pool_min_size=0)
    with pytest.raises(DatabaseUnavailable) as info:
        await Database(settings, url).open()
    message = str(info.value)
    assert "127.0.0.1:1/somedb as bob" in message and "hunter2" not in message
    assert "\n" not in message
    assert describe_target("postgresql://u@/db?host=/tmp/sock") == "/tmp/sock:5432/db as u"


async def test_async_database(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO agents (name, type) VALUES ('x', 'music')")
    rows = await asyncio.gather(*(db.fetch_one("SELECT count(*) AS n FROM agents") for _ in range(10)))
    assert [r["n"] for r in rows if r] == [1] * 10
