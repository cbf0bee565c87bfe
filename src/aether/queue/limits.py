"""Concurrency limits per agent and per task type, across every worker (enforced when claiming)."""

from __future__ import annotations

from typing import Any, Literal

from aether.db.pool import AsyncConnection
from aether.db.queries import load_queries
from aether.errors import ValidationFailed

Q = load_queries(__file__, "limits.sql")

Scope = Literal["agent", "task_type"]
SCOPES = ("agent", "task_type")


def _check(scope: str, name: str) -> None:
    if scope not in SCOPES:
        raise ValidationFailed(f"scope must be 'agent' or 'task_type' (got {scope!r})", field="scope")
    if not name or not name.strip() or len(name) > 100:
        raise ValidationFailed("name must be a non-empty string of at most 100 characters", field="name")


async def set_limit(conn: AsyncConnection, scope: Scope, name: str, max_running: int) -> None:
    """At most `max_running` tasks of this agent (or task type) run at once, across all workers."""
    _check(scope, name)
    if isinstance(max_running, bool) or not isinstance(max_running, int) or max_running < 0:
        raise ValidationFailed("max_running must be an integer of at least 0", field="max_running")
    await conn.execute(Q.set_limit, {"scope": scope, "name": name, "max_running": max_running})


async def clear_limit(conn: AsyncConnection, scope: Scope, name: str) -> bool:
    _check(scope, name)
    cur = await conn.execute(Q.clear_limit, {"scope": scope, "name": name})
    return cur.rowcount > 0


async def list_limits(conn: AsyncConnection) -> list[dict[str, Any]]:
    cur = await conn.execute(Q.list_limits)
    return [dict(row) for row in await cur.fetchall()]
