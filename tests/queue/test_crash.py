"""Crashes with real processes: SIGKILL loses nothing, SIGTERM finishes the tasks in hand."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from aether.db.pool import Database
from aether.queue import NewTask, enqueue_sync
from tests.queue.handlers_for_tests import AGENT
from tests.queue.processes import spawn_worker, stop
from tests.support import wait_for

pytestmark = pytest.mark.slow


def row(db: Database, task_id: int) -> dict[str, Any]:
    found = db.fetch_one("SELECT * FROM tasks WHERE id = %s", (task_id,))
    assert found is not None
    return dict(found)


def test_sigkill_mid_task_is_rescued_and_the_effect_happens_once(qtables: Database, cli_env: dict[str, str]) -> None:
    db = qtables
    with db.transaction() as conn:
        (task_id,) = enqueue_sync(conn, NewTask("qtest.effect", AGENT, {"hang": True}))
    first = spawn_worker(cli_env)
    try:
        wait_for(lambda: db.fetch_one("SELECT 1 FROM qtest_runs WHERE task_id = %s", (task_id,)), timeout=60)
        assert row(db, task_id)["status"] == "in_progress"
    finally:
        stop(first, signal.SIGKILL)
    second = spawn_worker(cli_env)
    try:
        done = wait_for(
            lambda: (r := row(db, task_id))["status"] == "completed" and r,
            timeout=60,
            what="task rescued and completed",
        )
    finally:
        out = stop(second)
    assert done["attempts"] == 2, out
    assert "lease expired" in done["last_error"]["message"]
    effects = db.fetch_all("SELECT id FROM qtest_effects WHERE task_id = %s", (task_id,))
    assert len(effects) == 1
    assert done["result"] == {"effect_id": effects[0]["id"]}
    runs = db.fetch_all("SELECT attempt FROM qtest_runs WHERE task_id = %s ORDER BY attempt", (task_id,))
    assert [r["attempt"] for r in runs] == [1, 2]


def test_sigterm_finishes_work_in_hand_and_releases_the_rest(qtables: Database, cli_env: dict[str, str]) -> None:
    db = qtables
    with db.transaction() as conn:
        slow, *rest = enqueue_sync(
            conn,
            [NewTask("qtest.slow", AGENT, {"seconds": 1.0}, priority=9)]
            + [NewTask("qtest.noop", AGENT, {}) for _ in range(3)],
        )
    worker = spawn_worker(cli_env, "--concurrency", "1", "--prefetch", "3")
    try:
        wait_for(lambda: db.fetch_one("SELECT 1 FROM qtest_runs WHERE task_id = %s", (slow,)), timeout=60)
        claimed = wait_for(
            lambda: db.fetch_one("SELECT count(*) AS n FROM tasks WHERE status = 'in_progress' HAVING count(*) = 4"),
            timeout=10,
        )
        assert claimed is not None
    finally:
        out = stop(worker, signal.SIGTERM)
    assert worker.returncode == 0, out
    assert row(db, slow)["status"] == "completed", out
    for task_id in rest:
        released = row(db, task_id)
        assert released["status"] == "pending" and released["attempts"] == 0, out
