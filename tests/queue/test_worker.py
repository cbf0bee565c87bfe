from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aether.config import Settings
from aether.db.pool import AsyncConnection, Database
from aether.queue import NewTask, cancel, enqueue
from aether.queue.limits import set_limit
from aether.queue.tasks import Hooks
from tests.queue.conftest import StartWorker
from tests.queue.handlers_for_tests import AGENT
from tests.queue.helpers import all_finished, status_is, task_row, until


async def put(db: Database, *tasks: NewTask) -> list[int]:
    async with db.transaction() as conn:
        return await enqueue(conn, list(tasks))


def task(task_type: str, payload: dict[str, Any] | None = None, **kwargs: Any) -> NewTask:
    return NewTask(f"qtest.{task_type}", AGENT, payload or {}, **kwargs)


class Recorded(list[tuple[str, int, Any, bool | None]]):
    """The hooks' calls; `.hooks` are the hooks to hand to a worker or to `cancel`."""

    hooks: Hooks


@pytest.fixture
def hooks() -> Recorded:
    """Completion hooks that write into the finishing transaction."""
    calls = Recorded()

    async def on_complete(conn: AsyncConnection, row: dict[str, Any], result: dict[str, Any]) -> None:
        await conn.execute("INSERT INTO qtest_effects (task_id) VALUES (%s)", (row["id"],))
        calls.append(("complete", row["id"], result, None))

    async def on_fail(conn: AsyncConnection, row: dict[str, Any], message: str, final: bool) -> None:
        calls.append(("fail", row["id"], message, final))

    calls.hooks = Hooks(on_complete=(on_complete,), on_fail=(on_fail,))
    return calls


async def test_runs_tasks_and_completes_them_with_hooks(
    adb: Database, start_worker: StartWorker, hooks: Recorded
) -> None:
    await start_worker(concurrency=4, hooks=hooks.hooks)
    ids = await put(adb, *(task("noop", {"n": i}) for i in range(10)))
    await until(lambda: all_finished(adb), what="all tasks finished")
    for i, task_id in enumerate(ids):
        row = await task_row(adb, task_id)
        assert row["status"] == "completed" and row["result"] == {"echo": i}
        assert row["attempts"] == 1 and row["started_at"] <= row["completed_at"]
        assert row["lease_expires_at"] is None
    effects = await adb.fetch_all("SELECT task_id FROM qtest_effects ORDER BY task_id")
    assert [e["task_id"] for e in effects] == ids
    assert sorted(c[1] for c in hooks if c[0] == "complete") == ids


async def test_priority_then_schedule_then_id(adb: Database, start_worker: StartWorker) -> None:
    past = datetime.now(UTC) - timedelta(minutes=5)
    ids = await put(
        adb,
        task("record", priority=1),
        task("record", priority=1, scheduled_at=past),
        task("record", priority=9),
        task("record", priority=5),
        task("record", priority=9),
    )
    await start_worker(concurrency=1)
    await until(lambda: all_finished(adb))
    runs = await adb.fetch_all("SELECT task_id FROM qtest_runs ORDER BY started_at")
    assert [r["task_id"] for r in runs] == [ids[2], ids[4], ids[3], ids[1], ids[0]]


async def test_scheduled_task_waits_for_its_time(adb: Database, start_worker: StartWorker) -> None:
    await start_worker(concurrency=2)
    (task_id,) = await put(adb, task("record", scheduled_at=datetime.now(UTC) + timedelta(seconds=1)))
    row = await until(lambda: status_is(adb, task_id, "completed"))
    run = await adb.fetch_one("SELECT started_at FROM qtest_runs WHERE task_id = %s", (task_id,))
    assert run is not None and run["started_at"] >= row["scheduled_at"]


async def test_retries_with_backoff_then_fails_and_stays_visible(
    adb: Database, start_worker: StartWorker, hooks: Recorded
) -> None:
    await start_worker(concurrency=2, hooks=hooks.hooks)
    failing, recovering = await put(adb, task("fail", max_attempts=3), task("fail", {"succeed_on": 2}, max_attempts=3))
    row = await until(lambda: status_is(adb, failing, "failed"))
    assert row["attempts"] == 3 and row["completed_at"] is not None
    assert row["last_error"]["message"] == "RuntimeError: boom on attempt 3"
    assert "Traceback" in row["last_error"]["traceback"] and "boom" in row["last_error"]["traceback"]
    assert [c[3] for c in hooks if c[0] == "fail" and c[1] == failing] == [False, False, True]
    ok = await until(lambda: status_is(adb, recovering, "completed"))
    assert ok["result"] == {"attempt": 2} and ok["attempts"] == 2
    runs = await adb.fetch_all(
        "SELECT attempt, started_at FROM qtest_runs WHERE task_id = %s ORDER BY attempt", (failing,)
    )
    assert [r["attempt"] for r in runs] == [1, 2, 3]


async def test_permanent_error_fails_at_once(adb: Database, start_worker: StartWorker) -> None:
    await start_worker()
    (task_id,) = await put(adb, task("fail", {"permanent": True}))
    row = await until(lambda: status_is(adb, task_id, "failed"))
    assert row["attempts"] == 1 and "PermanentError: bad input" in row["last_error"]["message"]


async def test_cancel_pending_and_running_tasks(adb: Database, start_worker: StartWorker, hooks: Recorded) -> None:
    (later,) = await put(adb, task("record", scheduled_at=datetime.now(UTC) + timedelta(hours=1)))
    async with adb.transaction() as conn:
        assert await cancel(conn, later, hooks=hooks.hooks)
    assert (await task_row(adb, later))["status"] == "cancelled"
    assert ("fail", later, "cancelled", True) in hooks

    await start_worker(concurrency=2, hooks=hooks.hooks)
    polite, stubborn = await put(adb, task("wait_cancel"), task("wait_cancel", {"stubborn": True}))
    await until(lambda: adb.fetch_one("SELECT 1 FROM qtest_runs HAVING count(*) = 2"))
    for task_id in (polite, stubborn):
        async with adb.transaction() as conn:
            assert await cancel(conn, task_id, hooks=hooks.hooks)
    for task_id in (polite, stubborn):
        row = await until(lambda task_id=task_id: status_is(adb, task_id, "cancelled"))
        assert row["cancel_requested"] and row["completed_at"] is not None
    async with adb.transaction() as conn:
        assert not await cancel(conn, polite, hooks=hooks.hooks)
    assert [c[3] for c in hooks if c[0] == "fail" and c[1] in (polite, stubborn)] == [True, True]


async def test_wakes_on_notify_without_polling(
    adb: Database, start_worker: StartWorker, fast_settings: Settings
) -> None:
    slow_poll = fast_settings.model_copy(update={"queue_poll_interval_s": 120.0})
    await start_worker(slow_poll, concurrency=1)
    for _ in range(3):
        (task_id,) = await put(adb, task("noop"))
        await until(lambda task_id=task_id: status_is(adb, task_id, "completed"), timeout=20)


async def test_polling_works_without_listen(adb: Database, start_worker: StartWorker, fast_settings: Settings) -> None:
    no_listen = fast_settings.model_copy(update={"database_listen": False})
    worker = await start_worker(no_listen, concurrency=1)
    assert not worker.options.listen
    (task_id,) = await put(adb, task("noop"))
    await until(lambda: status_is(adb, task_id, "completed"))


async def test_limits_hold_across_workers(adb: Database, start_worker: StartWorker) -> None:
    async with adb.transaction() as conn:
        await set_limit(conn, "task_type", "qtest.record", 2)
    await start_worker(concurrency=5)
    await start_worker(concurrency=5)
    await put(adb, *(task("record", {"count_running": True, "sleep": 0.05}) for _ in range(12)))
    await until(lambda: all_finished(adb), timeout=30)
    runs = await adb.fetch_all("SELECT running FROM qtest_runs")
    assert len(runs) == 12
    assert max(r["running"] for r in runs) <= 2


async def test_agent_limit_of_zero_pauses_the_agent(adb: Database, start_worker: StartWorker) -> None:
    async with adb.transaction() as conn:
        await set_limit(conn, "agent", AGENT, 0)
    await start_worker(concurrency=2)
    (task_id,) = await put(adb, task("noop"))
    # A task of another agent, enqueued after it, runs: the worker claimed past the paused task.
    [other] = await put(adb, NewTask("qtest.noop", "qtest-other-agent", {}))
    await until(lambda: status_is(adb, other, "completed"), what="the other agent's task completed")
    held = await task_row(adb, task_id)
    assert held["status"] == "pending" and held["attempts"] == 0 and held["started_at"] is None
    async with adb.transaction() as conn:
        await set_limit(conn, "agent", AGENT, 1)
    await until(lambda: status_is(adb, task_id, "completed"))


async def test_cpu_work_runs_in_the_pool(adb: Database, start_worker: StartWorker) -> None:
    await start_worker()
    (task_id,) = await put(adb, task("cpu", {"n": 1000}))
    row = await until(lambda: status_is(adb, task_id, "completed", "failed"), timeout=60)
    assert row["result"] == {"sum": sum(i * i for i in range(1000)), "double": 2000}, row["last_error"]


async def test_stop_releases_unstarted_and_finishes_tasks_in_hand(adb: Database, start_worker: StartWorker) -> None:
    slow, *rest = await put(adb, task("slow", {"seconds": 0.5}, priority=5), *(task("noop") for _ in range(3)))
    worker = await start_worker(concurrency=1, prefetch=3)
    await until(lambda: adb.fetch_one("SELECT 1 FROM qtest_runs WHERE task_id = %s", (slow,)))
    assert len(worker.ready) == 3
    worker.request_stop()
    await until(lambda: asyncio.sleep(0, worker.stop_event.is_set() and not worker.running and not worker.flushing))
    assert (await task_row(adb, slow))["status"] == "completed"
    for task_id in rest:
        row = await task_row(adb, task_id)
        assert row["status"] == "pending" and row["attempts"] == 0 and row["lease_owner"] is None


async def test_no_handler_for_a_type_leaves_it_pending(adb: Database, start_worker: StartWorker) -> None:
    await start_worker()
    (orphan,) = await put(adb, NewTask("nobody.handles", AGENT, {}))
    (ok,) = await put(adb, task("noop"))
    await until(lambda: status_is(adb, ok, "completed"))
    assert (await task_row(adb, orphan))["status"] == "pending"


async def test_only_tasks_of_active_agents_run(adb: Database, start_worker: StartWorker) -> None:
    [first] = await put(adb, task("noop", {"n": 1}))  # creates the agent, active
    await start_worker(concurrency=2)
    await until(lambda: status_is(adb, first, "completed"), what="first task completed")
    await adb.execute("UPDATE agents SET status = 'error' WHERE name = %s", (AGENT,))
    [held] = await put(adb, task("noop", {"n": 2}))
    [other] = await put(adb, NewTask("qtest.noop", "qtest-other-agent", {"n": 3}))
    await until(lambda: status_is(adb, other, "completed"), what="the other agent's task completed")
    assert (await task_row(adb, held))["status"] == "pending"
    await adb.execute("UPDATE agents SET status = 'active' WHERE name = %s", (AGENT,))
    await until(lambda: status_is(adb, held, "completed"), what="held task completed once active")
