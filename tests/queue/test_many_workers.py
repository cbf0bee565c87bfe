"""Several real worker processes on one queue: no task claimed twice; priorities and schedules hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aether.db.pool import Database
from aether.queue import NewTask, enqueue
from tests.queue.handlers_for_tests import AGENT
from tests.queue.helpers import until
from tests.queue.processes import spawn_worker, stop

pytestmark = pytest.mark.slow
WORKERS = 3


async def test_many_workers_claim_each_task_once_in_priority_order(qtables: Database, cli_env: dict[str, str]) -> None:
    db = qtables
    soon = datetime.now(UTC) + timedelta(seconds=3)
    async with db.transaction() as conn:
        high = await enqueue(conn, [NewTask("qtest.record", AGENT, {"sleep": 0.01}, priority=9) for _ in range(40)])
        low = await enqueue(conn, [NewTask("qtest.record", AGENT, {"sleep": 0.01}, priority=1) for _ in range(40)])
        later = await enqueue(
            conn, [NewTask("qtest.record", AGENT, {}, priority=99, scheduled_at=soon) for _ in range(10)]
        )
        bulk = await enqueue(conn, [NewTask("qtest.noop", AGENT, {"n": i}) for i in range(300)])
    procs = [spawn_worker(cli_env, "--concurrency", "1") for _ in range(WORKERS)]
    try:
        await until(
            lambda: db.fetch_one("SELECT 1 FROM tasks WHERE status <> 'completed' HAVING count(*) = 0"),
            timeout=120,
            what="every task completed",
        )
    finally:
        outs = [stop(p) for p in procs]
    runs = await db.fetch_all("SELECT task_id, pid, started_at FROM qtest_runs ORDER BY started_at, task_id")
    ran = [r["task_id"] for r in runs]
    assert len(ran) == len(set(ran)) == len(high) + len(low) + len(later), outs
    assert len({r["pid"] for r in runs}) > 1
    tasks = {r["id"]: r for r in await db.fetch_all("SELECT id, attempts, scheduled_at, lease_owner FROM tasks")}
    assert all(t["attempts"] == 1 for t in tasks.values())
    assert len({tasks[i]["lease_owner"] for i in bulk}) > 1
    order = [task_id for task_id in ran if task_id in set(high) | set(low)]
    first_low = min(order.index(task_id) for task_id in low)
    assert first_low >= len(high) - 2 * WORKERS
    started = {r["task_id"]: r["started_at"] for r in runs}
    assert all(started[task_id] >= tasks[task_id]["scheduled_at"] for task_id in later)
