"""A task's life on the queue, one function at a time on the test's PostgreSQL database: claim order and
filters, concurrency limits, heartbeat, complete with its hooks in the same transaction, fail with back-off,
release, rescue of expired leases, and when the next task is due."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from aether.config import Settings
from aether.db.pool import AsyncConnection, Database, connect_async
from aether.queue import NewTask, cancel, enqueue, lifecycle
from aether.queue.lifecycle import Claimer, TaskRow, backoff_s
from aether.queue.limits import set_limit
from aether.queue.tasks import NO_HOOKS, Hooks
from tests.orchestrator.sim import claim
from tests.queue.helpers import task_row

AGENT = "lc"
TYPE = "lc.work"


def at(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


async def put(db: Database, *tasks: NewTask) -> list[int]:
    async with db.transaction() as conn:
        return await enqueue(conn, list(tasks))


async def put_n(db: Database, n: int, **options: Any) -> list[int]:
    agent = options.pop("agent", AGENT)
    task_type = options.pop("task_type", TYPE)
    return await put(db, *(NewTask(task_type, agent, {"n": i}, **options) for i in range(n)))


async def seconds_until(db: Database, task_id: int, column: str) -> float:
    """How far `column` of the task lies ahead of the database's clock (negative: behind it)."""
    assert column in ("scheduled_at", "lease_expires_at", "started_at", "completed_at")
    row = await db.fetch_one(
        f"SELECT extract(epoch FROM {column} - (now() AT TIME ZONE 'UTC'))::float8 AS s FROM tasks WHERE id = %s",  # type: ignore[arg-type]
        (task_id,),
    )
    assert row is not None and row["s"] is not None
    return float(row["s"])


async def expire_leases(db: Database, ids: list[int], ago_s: float = 1.0) -> None:
    await db.execute(
        "UPDATE tasks SET lease_expires_at = (now() AT TIME ZONE 'UTC') - make_interval(secs => %s) WHERE id = ANY(%s)",
        (ago_s, ids),
    )


@asynccontextmanager
async def autocommit(settings: Settings) -> AsyncIterator[AsyncConnection]:
    """A connection of its own in autocommit mode, as a worker claims on."""
    assert settings.database_url is not None
    conn = await connect_async(settings.database_url.get_secret_value(), settings, autocommit=True)
    try:
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def claim_connection(db: Database, settings: Settings, mode: str) -> AsyncIterator[AsyncConnection]:
    if mode == "autocommit":
        async with autocommit(settings) as conn:
            yield conn
    else:
        async with db.connection() as conn:
            yield conn


async def next_notification(conn: AsyncConnection, timeout: float = 10.0) -> str | None:
    async for note in conn.notifies(timeout=timeout, stop_after=1):
        return note.payload
    return None


class Recorder:
    """Hooks that write down what they saw, inside the transaction they were given."""

    def __init__(self, *, raise_for: set[int] | None = None) -> None:
        self.completed: list[dict[str, Any]] = []
        self.failed: list[dict[str, Any]] = []
        self.raise_for = raise_for or set()

    async def on_complete(self, conn: AsyncConnection, row: TaskRow, result: dict[str, Any]) -> None:
        cur = await conn.execute("SELECT status, result FROM tasks WHERE id = %s", (row["id"],))
        seen = await cur.fetchone()
        await conn.execute("INSERT INTO lc_hook_log (task_id, kind) VALUES (%s, 'complete')", (row["id"],))
        self.completed.append(
            {
                "id": row["id"],
                "result": result,
                "row_status": row["status"],
                "seen": dict(seen or {}),
                "in_transaction": conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS,
            }
        )
        if row["id"] in self.raise_for:
            raise RuntimeError(f"no next step for task {row['id']}")

    async def on_fail(self, conn: AsyncConnection, row: TaskRow, message: str, final: bool) -> None:
        await conn.execute("INSERT INTO lc_hook_log (task_id, kind) VALUES (%s, 'fail')", (row["id"],))
        self.failed.append({"id": row["id"], "message": message, "final": final, "status": row["status"]})

    @property
    def hooks(self) -> Hooks:
        return Hooks(on_complete=(self.on_complete,), on_fail=(self.on_fail,))


@pytest.fixture
async def hook_log(adb: Database) -> Database:
    await adb.execute("CREATE TABLE lc_hook_log (id SERIAL PRIMARY KEY, task_id INTEGER NOT NULL, kind TEXT NOT NULL)")
    return adb


async def logged(db: Database, kind: str) -> list[int]:
    rows = await db.fetch_all("SELECT task_id FROM lc_hook_log WHERE kind = %s ORDER BY id", (kind,))
    return [r["task_id"] for r in rows]


# ---- back-off -------------------------------------------------------------------------------------


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(-3, 2.0), (0, 2.0), (1, 2.0), (2, 4.0), (5, 32.0), (9, 512.0), (10, 600.0), (10**6, 600.0)],
)
def test_backoff_doubles_up_to_the_cap_with_jitter_between_half_and_all(attempt: int, ceiling: float) -> None:
    assert backoff_s(attempt, 2.0, 600.0, FixedRandom(0.0)) == ceiling / 2
    assert backoff_s(attempt, 2.0, 600.0, FixedRandom(0.999999)) == pytest.approx(ceiling, rel=1e-5)
    seeded = random.Random(7)
    assert all(ceiling / 2 <= backoff_s(attempt, 2.0, 600.0, seeded) <= ceiling for _ in range(200))


def test_backoff_is_random_without_a_generator() -> None:
    delays = {backoff_s(3, 1.0, 100.0) for _ in range(50)}
    assert len(delays) > 1 and all(2.0 <= d <= 4.0 for d in delays)


# ---- claim ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["autocommit", "transaction"])
async def test_claim_order_is_priority_then_schedule_then_id(adb: Database, fast_settings: Settings, mode: str) -> None:
    early = at(-10)
    low_early, high_late, high_earlier, low_same, future, other_type, other_agent = await put(
        adb,
        NewTask(TYPE, AGENT, {}, priority=1, scheduled_at=early),
        NewTask(TYPE, AGENT, {}, priority=5, scheduled_at=at(-1)),
        NewTask(TYPE, AGENT, {}, priority=5, scheduled_at=at(-5)),
        NewTask(TYPE, AGENT, {}, priority=1, scheduled_at=early),
        NewTask(TYPE, AGENT, {}, priority=9, scheduled_at=at(60)),
        NewTask("lc.other", AGENT, {}, priority=9),
        NewTask(TYPE, "lc-elsewhere", {}, priority=9),
    )
    me = Claimer("worker-a", [TYPE], [AGENT], lease_s=30)
    async with claim_connection(adb, fast_settings, mode) as conn:
        first = await lifecycle.claim(conn, me, 3)
        second = await lifecycle.claim(conn, me, 3)
        third = await lifecycle.claim(conn, me, 3)
    assert [r["id"] for r in first] == [high_earlier, high_late, low_early]
    assert [r["id"] for r in second] == [low_same] and third == []
    for row in first + second:
        assert row["status"] == "in_progress" and row["attempts"] == 1 and row["lease_owner"] == "worker-a"
        assert row["started_at"] is not None and row["completed_at"] is None
        assert 20 <= await seconds_until(adb, row["id"], "lease_expires_at") <= 30.5
    assert (await task_row(adb, future))["status"] == "pending"

    anyone = Claimer("worker-b", [TYPE, "lc.other"], None)
    claimed = {r["id"] for r in await claim(adb, anyone, 10)}
    assert claimed == {other_type, other_agent}  # every agent when none is named; the future task waits


async def test_claim_with_nothing_to_ask_for_touches_nothing(adb: Database) -> None:
    (task_id,) = await put_n(adb, 1)
    assert await claim(adb, Claimer("w", [TYPE]), 0) == []
    assert await claim(adb, Claimer("w", []), 5) == []
    assert (await task_row(adb, task_id))["status"] == "pending"


@pytest.mark.parametrize("status", ["inactive", "error"])
async def test_tasks_of_an_agent_that_is_not_active_wait(adb: Database, status: str) -> None:
    ids = await put_n(adb, 2)
    me = Claimer("w", [TYPE])
    await adb.execute("UPDATE agents SET status = %s WHERE name = %s", (status, AGENT))
    assert await claim(adb, me, 5) == []
    await adb.execute("UPDATE agents SET status = 'active' WHERE name = %s", (AGENT,))
    assert sorted(r["id"] for r in await claim(adb, me, 5)) == ids


# ---- limits -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["autocommit", "transaction"])
async def test_an_agent_limit_caps_running_tasks(adb: Database, fast_settings: Settings, mode: str) -> None:
    limited = await put_n(adb, 5, priority=5)
    free = await put_n(adb, 2, agent="lc-free")
    async with adb.transaction() as conn:
        await set_limit(conn, "agent", AGENT, 2)
    me = Claimer("w", [TYPE])
    async with claim_connection(adb, fast_settings, mode) as conn:
        first = await lifecycle.claim(conn, me, 10)
        assert [r["id"] for r in first] == limited[:2] + free  # priority order, two of the limited agent
        assert await lifecycle.claim(conn, me, 10) == []  # the agent is full, the rest is done
        assert await lifecycle.complete(conn, me, [(first[0], {})]) == [limited[0]]
        assert [r["id"] for r in await lifecycle.claim(conn, me, 10)] == [limited[2]]


async def test_a_task_type_limit_spans_agents_and_a_zero_limit_holds_everything(adb: Database) -> None:
    ids = await put_n(adb, 2) + await put_n(adb, 2, agent="lc-two")
    other = await put_n(adb, 1, task_type="lc.other")
    async with adb.transaction() as conn:
        await set_limit(conn, "task_type", TYPE, 1)
    me = Claimer("w", [TYPE, "lc.other"])
    assert sorted(r["id"] for r in await claim(adb, me, 10)) == sorted([ids[0], *other])
    async with adb.transaction() as conn:
        await set_limit(conn, "task_type", TYPE, 0)
        await set_limit(conn, "agent", "lc-two", 5)
    assert await claim(adb, me, 10) == []


async def test_a_limit_counts_tasks_other_workers_run(adb: Database) -> None:
    ids = await put_n(adb, 4)
    assert len(await claim(adb, Claimer("first", [TYPE]), 2)) == 2
    async with adb.transaction() as conn:
        await set_limit(conn, "agent", AGENT, 3)
    assert [r["id"] for r in await claim(adb, Claimer("second", [TYPE]), 10)] == [ids[2]]


async def test_concurrent_claimers_never_pass_a_limit_together(adb: Database, fast_settings: Settings) -> None:
    await put_n(adb, 12)
    async with adb.transaction() as conn:
        await set_limit(conn, "agent", AGENT, 3)

    async def claimer(name: str) -> list[TaskRow]:
        async with autocommit(fast_settings) as conn:
            return await lifecycle.claim(conn, Claimer(name, [TYPE]), 10)

    claimed = await asyncio.gather(*(claimer(f"w{i}") for i in range(4)))
    assert sum(len(rows) for rows in claimed) == 3
    running = await adb.fetch_one("SELECT count(*) AS n FROM tasks WHERE status = 'in_progress'")
    assert running is not None and running["n"] == 3


# ---- heartbeat --------------------------------------------------------------------------------------


async def test_heartbeat_renews_this_workers_leases_and_reports_cancellation(adb: Database) -> None:
    one, two, three = await put_n(adb, 3)
    me = Claimer("w", [TYPE], lease_s=120)
    rows = await claim(adb, me, 3)
    await expire_leases(adb, [one, two], ago_s=-5)  # five seconds left
    async with adb.transaction() as conn:
        assert await cancel(conn, one, hooks=NO_HOOKS)
    async with adb.connection() as conn:
        assert await lifecycle.complete(conn, me, [(rows[2], {})]) == [three]
        assert await lifecycle.heartbeat(conn, me, [one, two, three]) == {one: True, two: False}
        assert await lifecycle.heartbeat(conn, Claimer("someone-else", [TYPE]), [one, two]) == {}
        assert await lifecycle.heartbeat(conn, me, []) == {}
    for task_id in (one, two):
        assert 110 <= await seconds_until(adb, task_id, "lease_expires_at") <= 120.5
        assert (await task_row(adb, task_id))["status"] == "in_progress"


# ---- complete ---------------------------------------------------------------------------------------


async def test_complete_stores_results_and_runs_hooks_in_the_same_transaction(hook_log: Database) -> None:
    adb = hook_log
    ids = await put_n(adb, 3)
    recorder = Recorder()
    me = Claimer("w", [TYPE], hooks=recorder.hooks)
    rows = await claim(adb, me, 3)
    done = [(row, {"answer": row["id"] * 10}) for row in reversed(rows)]
    async with adb.connection() as conn:
        assert await lifecycle.complete(conn, me, done) == ids
        assert await lifecycle.complete(conn, me, []) == []
    assert [c["id"] for c in recorder.completed] == ids  # a fixed order, whatever order they finished in
    for call in recorder.completed:
        assert call["result"] == {"answer": call["id"] * 10} and call["row_status"] == "completed"
        assert call["in_transaction"] and call["seen"] == {"status": "completed", "result": call["result"]}
    for task_id in ids:
        row = await task_row(adb, task_id)
        assert row["status"] == "completed" and row["result"] == {"answer": task_id * 10}
        assert row["completed_at"] is not None and row["lease_expires_at"] is None
    assert await logged(adb, "complete") == ids and recorder.failed == []


async def test_a_raising_hook_rolls_back_the_batch_and_fails_that_tasks_attempt(hook_log: Database) -> None:
    adb = hook_log
    first, broken, last = await put_n(adb, 3, max_attempts=3)
    recorder = Recorder(raise_for={broken})
    me = Claimer("w", [TYPE], hooks=recorder.hooks)
    rows = await claim(adb, me, 3)
    async with adb.connection() as conn:
        completed = await lifecycle.complete(
            conn, me, [(row, {"ok": True}) for row in rows], retry_base_s=100, retry_max_s=1000
        )
    assert completed == [first, last]
    # the batch ran the hooks of `first` and `broken` and was rolled back; then one task at a time
    assert [c["id"] for c in recorder.completed] == [first, broken, first, broken, last]
    assert await logged(adb, "complete") == [first, last]  # only what committed is left
    for task_id in (first, last):
        assert (await task_row(adb, task_id))["status"] == "completed"
    row = await task_row(adb, broken)
    assert row["status"] == "pending" and row["attempts"] == 1 and row["result"] is None
    assert row["last_error"]["message"] == f"completion hook failed: RuntimeError: no next step for task {broken}"
    assert "RuntimeError" in row["last_error"]["traceback"] and row["last_error"]["worker"] == "w"
    assert 40 <= await seconds_until(adb, broken, "scheduled_at") <= 100  # back-off: 50 to 100 s at base 100 s
    assert recorder.failed == [
        {"id": broken, "message": row["last_error"]["message"], "final": False, "status": "pending"}
    ]
    assert await logged(adb, "fail") == [broken]


async def test_a_raising_hook_on_the_last_attempt_fails_the_task_for_good(hook_log: Database) -> None:
    adb = hook_log
    (task_id,) = await put_n(adb, 1, max_attempts=1)
    recorder = Recorder(raise_for={task_id})
    me = Claimer("w", [TYPE], hooks=recorder.hooks)
    (row,) = await claim(adb, me, 1)
    async with adb.connection() as conn:
        assert await lifecycle.complete(conn, me, [(row, {})]) == []
    row = await task_row(adb, task_id)
    assert row["status"] == "failed" and row["completed_at"] is not None
    assert [(f["id"], f["final"]) for f in recorder.failed] == [(task_id, True)]


async def test_complete_leaves_tasks_that_are_no_longer_this_attempts(adb: Database) -> None:
    rescued, other_worker, stale = await put_n(adb, 3)
    me = Claimer("w", [TYPE])
    rows = {r["id"]: r for r in await claim(adb, me, 3)}
    await expire_leases(adb, [rescued])
    async with adb.connection() as conn:
        assert [r["id"] for r in await lifecycle.rescue(conn, hooks=NO_HOOKS)] == [rescued]
    await adb.execute("UPDATE tasks SET lease_owner = 'thief' WHERE id = %s", (other_worker,))
    await adb.execute("UPDATE tasks SET attempts = 2 WHERE id = %s", (stale,))  # a later attempt runs it now
    async with adb.connection() as conn:
        assert await lifecycle.complete(conn, me, [(row, {"late": True}) for row in rows.values()]) == []
    assert (await task_row(adb, rescued))["status"] == "pending"
    for task_id in (other_worker, stale):
        row = await task_row(adb, task_id)
        assert row["status"] == "in_progress" and row["result"] is None


# ---- fail -------------------------------------------------------------------------------------------


async def test_a_failed_attempt_is_retried_after_its_delay(hook_log: Database, fast_settings: Settings) -> None:
    adb = hook_log
    (task_id,) = await put_n(adb, 1, max_attempts=3)
    recorder = Recorder()
    me = Claimer("w", [TYPE], hooks=recorder.hooks)
    (row,) = await claim(adb, me, 1)
    async with autocommit(fast_settings) as listener:
        await listener.execute("LISTEN aether_tasks")
        async with adb.connection() as conn:
            updated = await lifecycle.fail(conn, me, row, "boom", "Traceback: boom", "retry", 60.0)
        assert await next_notification(listener) == AGENT
    assert updated is not None and updated["status"] == "pending" and updated["attempts"] == 1
    assert updated["lease_expires_at"] is None and updated["completed_at"] is None
    error = updated["last_error"]
    assert (error["message"], error["traceback"], error["attempt"], error["worker"]) == (
        "boom",
        "Traceback: boom",
        1,
        "w",
    )
    assert 50 <= await seconds_until(adb, task_id, "scheduled_at") <= 60.5
    assert await claim(adb, me, 1) == []  # not before its time
    assert recorder.failed == [{"id": task_id, "message": "boom", "final": False, "status": "pending"}]
    assert await logged(adb, "fail") == [task_id]

    await adb.execute("UPDATE tasks SET scheduled_at = (now() AT TIME ZONE 'UTC') WHERE id = %s", (task_id,))
    (again,) = await claim(adb, me, 1)
    assert again["id"] == task_id and again["attempts"] == 2


@pytest.mark.parametrize(
    ("max_attempts", "outcome", "status"),
    [(1, "retry", "failed"), (5, "failed", "failed"), (5, "cancelled", "cancelled")],
)
async def test_a_final_failure(hook_log: Database, max_attempts: int, outcome: Any, status: str) -> None:
    adb = hook_log
    (task_id,) = await put_n(adb, 1, max_attempts=max_attempts)
    recorder = Recorder()
    me = Claimer("w", [TYPE], hooks=recorder.hooks)
    (row,) = await claim(adb, me, 1)
    async with adb.connection() as conn:
        updated = await lifecycle.fail(conn, me, row, "bad input", None, outcome, 0.0)
    assert updated is not None and updated["status"] == status and updated["completed_at"] is not None
    assert recorder.failed == [{"id": task_id, "message": "bad input", "final": True, "status": status}]
    assert await claim(adb, me, 1) == []


async def test_fail_leaves_a_task_that_is_no_longer_this_workers(hook_log: Database) -> None:
    adb = hook_log
    (task_id,) = await put_n(adb, 1)
    recorder = Recorder()
    (row,) = await claim(adb, Claimer("w", [TYPE]), 1)
    someone_else = Claimer("someone-else", [TYPE], hooks=recorder.hooks)
    async with adb.connection() as conn:
        assert await lifecycle.fail(conn, someone_else, row, "boom", None, "retry", 0.0) is None
        assert await lifecycle.fail(conn, someone_else, row, "boom", None, "failed", 0.0) is None
    after = await task_row(adb, task_id)
    assert after["status"] == "in_progress" and after["last_error"] is None
    assert recorder.failed == [] and await logged(adb, "fail") == []


async def test_a_raising_fail_hook_is_logged_and_the_failure_still_recorded(
    hook_log: Database, caplog: pytest.LogCaptureFixture
) -> None:
    adb = hook_log
    (task_id,) = await put_n(adb, 1, max_attempts=3)
    recorder = Recorder()

    async def broken(conn: AsyncConnection, row: TaskRow, message: str, final: bool) -> None:
        await conn.execute("INSERT INTO lc_hook_log (task_id, kind) VALUES (%s, 'broken')", (row["id"],))
        raise RuntimeError("the hook broke")

    me = Claimer("w", [TYPE], hooks=Hooks(on_fail=(broken, recorder.on_fail)))
    (row,) = await claim(adb, me, 1)
    caplog.set_level(logging.ERROR, logger="aether.queue.lifecycle")
    async with adb.connection() as conn:
        updated = await lifecycle.fail(conn, me, row, "boom", None, "retry", 0.0)
    assert updated is not None and (await task_row(adb, task_id))["status"] == "pending"
    assert await logged(adb, "broken") == []  # its own writes were rolled back
    assert await logged(adb, "fail") == [task_id] and len(recorder.failed) == 1  # the next hook still ran
    assert any("on-fail hook" in r.getMessage() and str(task_id) in r.getMessage() for r in caplog.records)


# ---- release ----------------------------------------------------------------------------------------


async def test_release_gives_back_unstarted_tasks_without_counting_the_attempt(
    adb: Database, fast_settings: Settings
) -> None:
    one, two, three = await put_n(adb, 3)
    me = Claimer("w", [TYPE])
    await claim(adb, me, 3)
    async with autocommit(fast_settings) as listener:
        await listener.execute("LISTEN aether_tasks")
        async with adb.connection() as conn:
            assert await lifecycle.release(conn, Claimer("someone-else", [TYPE]), [one]) == []
            assert sorted(await lifecycle.release(conn, me, [one, two])) == [one, two]
            assert await lifecycle.release(conn, me, []) == []
        assert await next_notification(listener) == ""
    for task_id in (one, two):
        row = await task_row(adb, task_id)
        assert row["status"] == "pending" and row["attempts"] == 0
        assert row["lease_owner"] is None and row["lease_expires_at"] is None and row["started_at"] is None
    assert (await task_row(adb, three))["status"] == "in_progress"
    assert [(r["id"], r["attempts"]) for r in await claim(adb, me, 3)] == [(one, 1), (two, 1)]


# ---- rescue -----------------------------------------------------------------------------------------


async def test_rescue_retries_fails_or_cancels_tasks_whose_lease_expired(
    hook_log: Database, fast_settings: Settings
) -> None:
    adb = hook_log
    retried, cancelled = await put_n(adb, 2, max_attempts=3)
    out_of_attempts, alive = await put_n(adb, 2, max_attempts=1)
    me = Claimer("gone-worker", [TYPE])
    rows = {r["id"]: r for r in await claim(adb, me, 4)}
    async with adb.transaction() as conn:
        assert await cancel(conn, cancelled, hooks=NO_HOOKS)  # flagged only: it was running
    await expire_leases(adb, [retried], ago_s=3)
    await expire_leases(adb, [cancelled], ago_s=2)
    await expire_leases(adb, [out_of_attempts], ago_s=1)
    recorder = Recorder()
    async with autocommit(fast_settings) as listener:
        await listener.execute("LISTEN aether_tasks")
        async with adb.connection() as conn:
            rescued = await lifecycle.rescue(conn, hooks=recorder.hooks)
        assert await next_notification(listener) == ""
    assert [(r["id"], r["status"]) for r in rescued] == [
        (retried, "pending"),
        (cancelled, "cancelled"),
        (out_of_attempts, "failed"),
    ]
    message = "lease expired: worker gone-worker stopped renewing it"
    assert recorder.failed == [
        {"id": retried, "message": message, "final": False, "status": "pending"},
        {"id": cancelled, "message": message, "final": True, "status": "cancelled"},
        {"id": out_of_attempts, "message": message, "final": True, "status": "failed"},
    ]
    for row in rescued:
        assert row["last_error"]["message"] == message and row["last_error"]["worker"] == "gone-worker"
        assert row["lease_expires_at"] is None and (row["completed_at"] is None) == (row["status"] == "pending")
    assert -10 <= await seconds_until(adb, retried, "scheduled_at") <= 0.5  # due again at once
    assert (await task_row(adb, alive))["status"] == "in_progress"

    async with adb.connection() as conn:  # the worker that lost them cannot finish or keep them any more
        assert await lifecycle.heartbeat(conn, me, [retried, out_of_attempts, alive]) == {alive: False}
        assert await lifecycle.complete(conn, me, [(rows[retried], {})]) == []
        assert await lifecycle.rescue(conn, hooks=NO_HOOKS) == []


async def test_rescue_takes_a_batch_of_the_longest_expired_first(adb: Database) -> None:
    ids = await put_n(adb, 5)
    await claim(adb, Claimer("w", [TYPE]), 5)
    for age, task_id in enumerate(ids):
        await expire_leases(adb, [task_id], ago_s=age + 1)
    async with adb.connection() as conn:
        first = await lifecycle.rescue(conn, hooks=NO_HOOKS, batch=2)
        rest = await lifecycle.rescue(conn, hooks=NO_HOOKS, batch=10)
    assert [r["id"] for r in first] == [ids[4], ids[3]]
    assert [r["id"] for r in rest] == [ids[2], ids[1], ids[0]]


# ---- next due ---------------------------------------------------------------------------------------


async def test_next_due_is_the_wait_until_the_earliest_pending_task_this_claimer_runs(adb: Database) -> None:
    me = Claimer("w", [TYPE], [AGENT])

    async def due() -> float | None:
        async with adb.connection() as conn:
            return await lifecycle.next_due_s(conn, me)

    assert await due() is None
    await put(adb, NewTask("lc.other", AGENT, {}, scheduled_at=at(1)), NewTask(TYPE, "lc-x", {}, scheduled_at=at(1)))
    assert await due() is None  # not this claimer's types or agents
    await put(adb, NewTask(TYPE, AGENT, {}, scheduled_at=at(60)))
    assert 3590 <= (await due() or 0) <= 3600
    await put(adb, NewTask(TYPE, AGENT, {}, scheduled_at=at(5)))
    assert 290 <= (await due() or 0) <= 300
    await put(adb, NewTask(TYPE, AGENT, {}, scheduled_at=at(-1)))
    late = await due()
    assert late is not None and -61 <= late <= -59  # overdue: a negative wait
