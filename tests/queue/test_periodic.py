from __future__ import annotations

import asyncio
import signal
from datetime import datetime, timedelta

import pytest

from aether.config import Settings
from aether.db.pool import Database
from aether.errors import ValidationFailed
from aether.queue.periodic import PeriodicTask, ensure_periodic, fire_due, latest_tick, upsert_periodic
from tests.queue.helpers import until
from tests.queue.processes import spawn, stop


def test_latest_tick() -> None:
    base = datetime(2025, 1, 1, 0, 0)
    assert latest_tick("*/5 * * * *", base, base + timedelta(minutes=4)) is None
    assert latest_tick("*/5 * * * *", base, base + timedelta(minutes=5)) == base + timedelta(minutes=5)
    assert latest_tick("*/5 * * * *", base, base + timedelta(minutes=17)) == base + timedelta(minutes=15)
    assert latest_tick("* * * * *", base, base + timedelta(days=30)) == base + timedelta(days=30)


async def test_bad_cron_is_refused(adb: Database) -> None:
    async with adb.transaction() as conn:
        with pytest.raises(ValidationFailed) as info:
            await upsert_periodic(conn, PeriodicTask("x", "every minute", "qtest.noop", "qtest"))
    assert info.value.field == "cron"


async def test_each_tick_fires_once_with_two_schedulers(adb: Database, fast_settings: Settings) -> None:
    async with adb.transaction() as conn:
        await conn.execute("DELETE FROM periodic_tasks")  # schedules other migrations seed
        await upsert_periodic(conn, PeriodicTask("every-minute", "* * * * *", "qtest.noop", "qtest", {"k": 1}))
        assert not await ensure_periodic(conn, PeriodicTask("every-minute", "*/7 * * * *", "qtest.noop", "qtest"))
        await conn.execute("UPDATE periodic_tasks SET created_at = '2025-01-01 00:00:00'")
    assert fast_settings.database_url is not None
    other = await Database(fast_settings, fast_settings.database_url.get_secret_value()).open()
    try:
        start = datetime(2025, 1, 1, 0, 0, 30)
        moments = [start + timedelta(seconds=20 * i) for i in range(30)]

        async def scheduler(db: Database) -> int:
            fired = 0
            for moment in moments:
                fired += len(await fire_due(db, now=moment))
            return fired

        counts = await asyncio.gather(scheduler(adb), scheduler(other))
    finally:
        await other.close()
    ticks = await adb.fetch_all("SELECT tick_at, task_id FROM periodic_ticks ORDER BY tick_at")
    tasks = await adb.fetch_all("SELECT id, payload, dedupe_key FROM tasks ORDER BY id")
    assert sum(counts) == len(ticks) == len(tasks) == 10
    assert [t["tick_at"] for t in ticks] == [datetime(2025, 1, 1, 0, m) for m in range(1, 11)]
    assert {t["task_id"] for t in ticks} == {t["id"] for t in tasks}
    assert all(t["payload"] == {"k": 1} for t in tasks)


@pytest.mark.slow
async def test_two_scheduler_processes_fire_each_second_once(adb: Database, cli_env: dict[str, str]) -> None:
    async with adb.transaction() as conn:
        await conn.execute("DELETE FROM periodic_tasks")  # schedules other migrations seed
        await conn.execute(
            "INSERT INTO periodic_tasks (name, cron, task_type, agent_name) "
            "VALUES ('each-second', '* * * * * *', 'qtest.noop', 'qtest')"
        )
    env = {**cli_env, "AETHER_SCHEDULER_INTERVAL_S": "0.1"}
    procs = [spawn(["scheduler"], env) for _ in range(2)]
    try:
        await until(lambda: adb.fetch_one("SELECT 1 FROM periodic_ticks HAVING count(*) >= 4"), timeout=60)
    finally:
        outs = [stop(p, signal.SIGTERM) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    ticks = await adb.fetch_all("SELECT tick_at, task_id FROM periodic_ticks ORDER BY tick_at")
    tasks = await adb.fetch_all("SELECT id FROM tasks")
    assert len(ticks) == len(tasks) and len({t["tick_at"] for t in ticks}) == len(ticks)
    assert {t["task_id"] for t in ticks} == {t["id"] for t in tasks}
