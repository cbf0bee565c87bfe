"""Crashes with real processes: SIGKILL loses nothing, SIGTERM finishes the tasks in hand."""

from __future__ import annotations

import signal

import pytest

from aether.db.pool import Database
from aether.queue import NewTask, enqueue
from tests.queue.handlers_for_tests import AGENT
from tests.queue.helpers import status_is, task_row, until
from tests.queue.processes import spawn_worker, stop

pytestmark = pytest.mark.slow


async def test_sigkill_mid_task_is_rescued_and_the_effect_happens_once(
    qtables: Database, cli_env: dict[str, str]
) -> None:
    db = qtables
    async with db.transaction() as conn:
        (task_id,) = await enqueue(conn, NewTask("qtest.effect", AGENT, {"hang": True}))
    first = spawn_worker(cli_env)
    try:
        await until(lambda: db.fetch_one("SELECT 1 FROM qtest_runs WHERE task_id = %s", (task_id,)), timeout=60)
        assert (await task_row(db, task_id))["status"] == "in_progress"
    finally:
        stop(first, signal.SIGKILL)
    second = spawn_worker(cli_env)
    try:
        done = await until(
            lambda: status_is(db, task_id, "completed"),
            timeout=60,
            what="task rescued and completed",
        )
    finally:
        out = stop(second)
    assert done is not None and done["attempts"] == 2, out
    assert "lease expired" in done["last_error"]["message"]
    effects = await db.fetch_all("SELECT id FROM qtest_effects WHERE task_id = %s", (task_id,))
    assert len(effects) == 1
    assert done["result"] == {"effect_id": effects[0]["id"]}
    runs = await db.fetch_all("SELECT attempt FROM qtest_runs WHERE task_id = %s ORDER BY attempt", (task_id,))
    assert [r["attempt"] for r in runs] == [1, 2]


async def test_sigterm_finishes_work_in_hand_and_releases_the_rest(qtables: Database, cli_env: dict[str, str]) -> None:
    db = qtables
    async with db.transaction() as conn:
        slow, *rest = await enqueue(
            conn,
            [NewTask("qtest.slow", AGENT, {"seconds": 1.0}, priority=9)]
            + [NewTask("qtest.noop", AGENT, {}) for _ in range(3)],
        )
    worker = spawn_worker(cli_env, "--concurrency", "1", "--prefetch", "3")
    try:
        await until(lambda: db.fetch_one("SELECT 1 FROM qtest_runs WHERE task_id = %s", (slow,)), timeout=60)
        claimed = await until(
            lambda: db.fetch_one("SELECT count(*) AS n FROM tasks WHERE status = 'in_progress' HAVING count(*) = 4"),
            timeout=10,
        )
        assert claimed is not None
    finally:
        out = stop(worker, signal.SIGTERM)
    assert worker.returncode == 0, out
    assert (await task_row(db, slow))["status"] == "completed", out
    for task_id in rest:
        released = await task_row(db, task_id)
        assert released["status"] == "pending" and released["attempts"] == 0, out
