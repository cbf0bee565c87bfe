"""Task handlers used by the queue's tests; worker subprocesses import this with `--handlers`.

Every handler belongs to the agent `qtest` and writes what it did into tables that `TABLES_SQL` creates.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from aether.errors import PermanentError
from aether.queue.tasks import Blueprint, TaskContext

AGENT = "qtest"
TABLES_SQL = """
CREATE TABLE IF NOT EXISTS qtest_runs (
  task_id INTEGER NOT NULL, attempt INTEGER NOT NULL, pid INTEGER NOT NULL, running INTEGER,
  started_at TIMESTAMP NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'));
CREATE TABLE IF NOT EXISTS qtest_effects (id SERIAL PRIMARY KEY, task_id INTEGER NOT NULL);
"""


tasks = Blueprint()


def sum_squares(n: int) -> int:
    return sum(i * i for i in range(n))


async def _record(ctx: TaskContext, running: int | None = None) -> None:
    async with ctx.db.connection() as conn:
        await conn.execute(
            "INSERT INTO qtest_runs (task_id, attempt, pid, running) VALUES (%s, %s, %s, %s)",
            (ctx.task_id, ctx.attempt, os.getpid(), running),
        )


@tasks.task("qtest.noop", agent=AGENT)
async def noop(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {"echo": payload.get("n")}


@tasks.task("qtest.record", agent=AGENT)
async def record(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    running = None
    if payload.get("count_running"):
        async with ctx.db.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) AS n FROM tasks WHERE status = 'in_progress' AND task_type = %s AND agent_name = %s",
                (ctx.task_type, ctx.agent),
            )
            row = await cur.fetchone()
            running = int(row["n"]) if row else None
    await _record(ctx, running)
    if payload.get("sleep"):
        await asyncio.sleep(float(payload["sleep"]))
    return {"pid": os.getpid()}


@tasks.task("qtest.effect", agent=AGENT)
async def effect(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    """A guarded side effect, then (first attempt with `hang`) a wait that only a kill ends."""

    async def insert() -> dict[str, Any]:
        async with ctx.db.connection() as conn:
            cur = await conn.execute("INSERT INTO qtest_effects (task_id) VALUES (%s) RETURNING id", (ctx.task_id,))
            row = await cur.fetchone()
        return {"effect_id": row["id"] if row else None}

    done = await ctx.once("qtest-effect", insert)
    await _record(ctx)
    if payload.get("hang") and ctx.attempt == 1:
        await asyncio.Event().wait()
    return done


@tasks.task("qtest.fail", agent=AGENT)
async def fail(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    await _record(ctx)
    if payload.get("permanent"):
        raise PermanentError("bad input: cannot be retried")
    if ctx.attempt < int(payload.get("succeed_on", 10**6)):
        raise RuntimeError(f"boom on attempt {ctx.attempt}")
    return {"attempt": ctx.attempt}


@tasks.task("qtest.wait_cancel", agent=AGENT)
async def wait_cancel(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Runs until cancelled (cooperatively), or ignores cancellation when `stubborn`."""
    await _record(ctx)
    if payload.get("stubborn"):
        await asyncio.Event().wait()
    await ctx.cancel_event.wait()
    ctx.raise_if_cancelled()
    return {}


@tasks.task("qtest.slow", agent=AGENT)
async def slow(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    await _record(ctx)
    await asyncio.sleep(float(payload.get("seconds", 1.0)))
    return {"slept": payload.get("seconds", 1.0)}


@tasks.task("qtest.cpu", agent=AGENT)
async def cpu(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    n = int(payload["n"])
    in_pool = await ctx.run_cpu(sum_squares, n)
    closure = await ctx.run_cpu(lambda: n * 2)
    return {"sum": in_pool, "double": closure}
