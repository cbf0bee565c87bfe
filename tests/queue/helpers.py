"""Helpers for the queue's async tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aether.db.pool import Database

T = TypeVar("T")


async def until(
    predicate: Callable[[], Awaitable[T]], *, timeout: float = 15.0, interval: float = 0.02, what: str = ""
) -> T:
    """Await `predicate` until it returns a truthy value or the deadline passes (never a bare sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(interval)


async def task_row(db: Database, task_id: int) -> dict[str, Any]:
    row = await db.fetch_one("SELECT * FROM tasks WHERE id = %s", (task_id,))
    assert row is not None
    return dict(row)


async def status_is(db: Database, task_id: int, *statuses: str) -> dict[str, Any] | None:
    row = await task_row(db, task_id)
    return row if row["status"] in statuses else None


async def all_finished(db: Database) -> bool:
    row = await db.fetch_one("SELECT count(*) AS n FROM tasks WHERE status IN ('pending', 'in_progress')")
    return row is not None and row["n"] == 0
