"""A worker simulated step by step on the real queue lifecycle (claim, complete, fail), so tests decide
exactly which task finishes when. The queue runs the engine's hooks as a real worker would."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import aether.orchestrator  # noqa: F401  (registers the engine's hooks)
from aether.db.pool import Database
from aether.orchestrator import HOOKS
from aether.queue import lifecycle
from aether.queue.lifecycle import Claimer, TaskRow
from aether.queue.tasks import Hooks

Result = Callable[[TaskRow], dict[str, Any]]


def claimer(types: Sequence[str], worker: str = "sim-worker", hooks: Hooks = HOOKS) -> Claimer:
    """A claimer that runs the workflow engine's hooks (as a worker of Aether does)."""
    return Claimer(worker=worker, types=list(types), lease_s=300.0, hooks=hooks)


async def claim(db: Database, who: Claimer, batch: int = 100) -> list[TaskRow]:
    async with db.connection() as conn:
        return await lifecycle.claim(conn, who, batch)


async def complete(db: Database, who: Claimer, row: TaskRow, result: dict[str, Any]) -> bool:
    async with db.connection() as conn:
        return row["id"] in await lifecycle.complete(conn, who, [(row, result)])


async def fail(db: Database, who: Claimer, row: TaskRow, message: str, *, final: bool) -> TaskRow | None:
    async with db.connection() as conn:
        return await lifecycle.fail(conn, who, row, message, None, "failed" if final else "retry", 0.0)


async def run_all(db: Database, who: Claimer, result: Result, *, rounds: int = 50) -> int:
    """Claim and complete until nothing is left to claim; returns how many tasks ran."""
    ran = 0
    for _ in range(rounds):
        rows = await claim(db, who)
        if not rows:
            return ran
        for row in rows:
            await complete(db, who, row, result(row))
            ran += 1
    raise AssertionError(f"still claiming tasks after {rounds} rounds")


async def step_rows(db: Database, workflow_id: str) -> dict[str, dict[str, Any]]:
    rows = await db.fetch_all("SELECT * FROM task_instances WHERE workflow_id = %s ORDER BY position", (workflow_id,))
    return {r["step_name"]: dict(r) for r in rows}


async def workflow_row(db: Database, workflow_id: str) -> dict[str, Any]:
    row = await db.fetch_one("SELECT * FROM workflow_instances WHERE workflow_id = %s", (workflow_id,))
    assert row is not None
    return dict(row)


async def tasks_of(db: Database, workflow_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch_all("SELECT * FROM tasks WHERE workflow_id = %s ORDER BY id", (workflow_id,))
    return [dict(r) for r in rows]
