"""Operator actions on tasks: cancel, retry, look up, list (with filters and pages)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from aether.db.pool import AsyncConnection
from aether.db.queries import load_queries
from aether.errors import Conflict, NotFound, ValidationFailed
from aether.queue.tasks import Hooks

Q = load_queries(__file__, "control.sql")

STATUSES = ("pending", "in_progress", "completed", "failed", "cancelled")
CANCEL_CHANNEL = "aether_tasks_cancel"
MAX_PAGE_SIZE = 1000


async def cancel(conn: AsyncConnection, task_id: int, *, hooks: Hooks) -> bool:
    """Cancel a task in the caller's transaction. A pending task becomes `cancelled` at once (`hooks.on_fail`
    run with final=True); a running one is flagged and its worker tells the handler to stop
    (ctx.cancel_event). False when the task is already finished (or does not exist)."""
    cur = await conn.execute(Q.cancel, {"id": task_id})
    row = await cur.fetchone()
    if row is None:
        return False
    old_status = row.pop("old_status")
    if old_status == "pending":
        for hook in hooks.on_fail:
            await hook(conn, row, "cancelled", True)
    else:
        await conn.execute("SELECT pg_notify(%s, %s)", (CANCEL_CHANNEL, str(task_id)))
    return True


async def retry(conn: AsyncConnection, task_id: int) -> dict[str, Any]:
    """Put a failed or cancelled task back on the queue with its attempts reset."""
    try:
        async with conn.transaction():
            cur = await conn.execute(Q.retry, {"id": task_id})
            row = await cur.fetchone()
    except psycopg.errors.UniqueViolation:
        raise Conflict(
            f"task {task_id} cannot be retried: another live task holds its dedupe_key", field="id"
        ) from None
    if row is None:
        current = await get_task(conn, task_id)
        raise Conflict(
            f"task {task_id} is {current['status']}; only failed or cancelled tasks can be retried", field="id"
        )
    await conn.execute("SELECT pg_notify('aether_tasks', %s)", (row["agent_name"] or "",))
    return dict(row)


async def get_task(conn: AsyncConnection, task_id: int) -> dict[str, Any]:
    cur = await conn.execute(Q.get_task, {"id": task_id})
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"task {task_id} does not exist", field="id")
    return dict(row)


@dataclass(frozen=True)
class TaskFilter:
    status: str | None = None
    agent: str | None = None
    task_type: str | None = None
    workflow_id: str | None = None

    def params(self) -> dict[str, Any]:
        if self.status is not None and self.status not in STATUSES:
            raise ValidationFailed(f"status must be one of {', '.join(STATUSES)} (got {self.status!r})", field="status")
        workflow_id = None
        if self.workflow_id is not None:
            try:
                workflow_id = str(uuid.UUID(self.workflow_id))
            except ValueError:
                raise ValidationFailed(
                    f"workflow_id must be a UUID (got {self.workflow_id!r})", field="workflow_id"
                ) from None
        return {"status": self.status, "agent": self.agent, "task_type": self.task_type, "workflow_id": workflow_id}


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


async def list_tasks(conn: AsyncConnection, where: TaskFilter, *, page: int = 1, page_size: int = 50) -> Page:
    """Newest first; `page` counts from 1."""
    if page < 1:
        raise ValidationFailed("page must be at least 1", field="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"page_size must be between 1 and {MAX_PAGE_SIZE}", field="page_size")
    params = where.params()
    cur = await conn.execute(Q.count_tasks, params)
    total_row = await cur.fetchone()
    cur = await conn.execute(Q.list_tasks, {**params, "limit": page_size, "offset": (page - 1) * page_size})
    rows = [dict(r) for r in await cur.fetchall()]
    return Page(rows, int(total_row["n"]) if total_row else 0, page, page_size)


async def status_counts(conn: AsyncConnection) -> dict[str, int]:
    cur = await conn.execute(Q.status_counts)
    return {row["status"]: int(row["n"]) for row in await cur.fetchall()}
