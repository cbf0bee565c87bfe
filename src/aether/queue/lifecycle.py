"""A task's life on the queue: claim (with concurrency limits), heartbeat, complete, fail, release, rescue.

Every function runs its statements in one transaction on the connection it is given, and calls the
`Hooks` it is given (the claimer's, for complete and fail) inside that transaction.
"""

from __future__ import annotations

import json
import logging
import random
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aether.db.pool import AsyncConnection
from aether.db.queries import load_queries
from aether.errors import HookFailed
from aether.queue.tasks import NO_HOOKS, Hooks

Q = load_queries(__file__, "lifecycle.sql")
log = logging.getLogger(__name__)

TaskRow = dict[str, Any]
Outcome = Literal["retry", "failed", "cancelled"]


@dataclass(frozen=True)
class Reason:
    """Why an attempt failed, for a person: the error's code and its message (an AetherError's own),
    kept in `last_error` beside the technical message."""

    code: str
    message: str


LIMIT_SCAN_FACTOR = 4


def backoff_s(attempt: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Exponential back-off with jitter: base * 2^(attempt-1), capped, then scaled by a factor in [0.5, 1]."""
    ceiling: float = min(max_s, base_s * float(2 ** min(max(attempt - 1, 0), 60)))
    jitter: float = (rng or random).random()
    return ceiling * (0.5 + 0.5 * jitter)


@dataclass(frozen=True)
class Claimer:
    """Who claims and what: the worker id, its agents (None = every agent), the task types it runs, and the
    hooks that run when one of its tasks completes or fails."""

    worker: str
    types: Sequence[str]
    agents: Sequence[str] | None = None
    lease_s: float = 30.0
    hooks: Hooks = NO_HOOKS

    def params(self) -> dict[str, Any]:
        return {
            "worker": self.worker,
            "types": list(self.types),
            "agents": list(self.agents) if self.agents is not None else None,
            "lease_s": self.lease_s,
        }


def _sort(rows: list[TaskRow]) -> list[TaskRow]:
    return sorted(rows, key=lambda r: (-(r["priority"] or 0), r["scheduled_at"] is None, r["scheduled_at"], r["id"]))


async def claim(conn: AsyncConnection, claimer: Claimer, batch: int) -> list[TaskRow]:
    """Claim up to `batch` due tasks (priority desc, scheduled_at, id), honouring concurrency limits.

    On an autocommit connection (a worker's claim connection) the usual claim is one statement."""
    if batch <= 0 or not claimer.types:
        return []
    params = claimer.params()
    if conn.autocommit:
        # the common case in one round trip; nothing claimed means "nothing due" or "limits apply"
        cur = await conn.execute(Q.claim_fast, {**params, "batch": batch})
        rows = list(await cur.fetchall())
        if rows:
            return _sort(rows)
    async with conn.transaction():
        # A claim lost in a server crash is harmless (the task is simply pending again), so the claim
        # does not wait for its WAL flush; completions stay durable.
        await conn.execute(Q.relaxed_commit)
        cur = await conn.execute(Q.lock_limits, params)
        limits = list(await cur.fetchall())
        if not limits:
            cur = await conn.execute(Q.claim, {**params, "batch": batch})
            return _sort(list(await cur.fetchall()))
        return _sort(await _claim_limited(conn, params, limits, batch))


async def _claim_limited(conn: AsyncConnection, params: dict[str, Any], limits: list[Any], batch: int) -> list[TaskRow]:
    cap = {(row["scope"], row["name"]): int(row["max_running"]) for row in limits}
    cur = await conn.execute(
        Q.running_counts,
        {
            "agents": [name for scope, name in cap if scope == "agent"],
            "types": [name for scope, name in cap if scope == "task_type"],
        },
    )
    running = {(row["scope"], row["name"]): int(row["running"]) for row in await cur.fetchall()}
    full = {key for key, limit in cap.items() if running.get(key, 0) >= limit}
    cur = await conn.execute(
        Q.claim_candidates,
        {
            **params,
            "full_agents": [name for scope, name in full if scope == "agent"],
            "full_types": [name for scope, name in full if scope == "task_type"],
            "scan": batch * LIMIT_SCAN_FACTOR,
        },
    )
    chosen: list[int] = []
    for row in await cur.fetchall():
        keys = [("agent", row["agent_name"]), ("task_type", row["task_type"])]
        if any(key in cap and running.get(key, 0) >= cap[key] for key in keys):
            continue
        for key in keys:
            if key in cap:
                running[key] = running.get(key, 0) + 1
        chosen.append(row["id"])
        if len(chosen) >= batch:
            break
    if not chosen:
        return []
    cur = await conn.execute(Q.claim_ids, {**params, "ids": chosen})
    return list(await cur.fetchall())


async def heartbeat(conn: AsyncConnection, claimer: Claimer, ids: Sequence[int]) -> dict[int, bool]:
    """Renew the leases of `ids`; returns {id: cancel_requested} for the tasks this worker still holds."""
    if not ids:
        return {}
    async with conn.transaction():
        await conn.execute(Q.relaxed_commit)
        cur = await conn.execute(Q.heartbeat, {**claimer.params(), "ids": list(ids)})
        return {row["id"]: bool(row["cancel_requested"]) for row in await cur.fetchall()}


async def release(conn: AsyncConnection, claimer: Claimer, ids: Sequence[int]) -> list[int]:
    """Give back tasks that were claimed but never started (the attempt is not counted)."""
    if not ids:
        return []
    async with conn.transaction():
        cur = await conn.execute(Q.release, {**claimer.params(), "ids": list(ids)})
        released = [row["id"] for row in await cur.fetchall()]
        if released:
            await conn.execute("SELECT pg_notify('aether_tasks', '')")
        return released


async def _run_fail_hooks(conn: AsyncConnection, hooks: Hooks, row: TaskRow, message: str) -> None:
    final = row["status"] != "pending"
    for hook in hooks.on_fail:
        try:
            async with conn.transaction():
                await hook(conn, row, message, final)
        except Exception:
            log.exception("on-fail hook %s raised for task %s", getattr(hook, "__qualname__", hook), row["id"])


async def _complete_batch(
    conn: AsyncConnection, claimer: Claimer, done: Sequence[tuple[TaskRow, dict[str, Any]]]
) -> list[int]:
    results = {row["id"]: result for row, result in done}
    payload = json.dumps([{"id": row["id"], "attempt": row["attempts"], "result": result} for row, result in done])
    async with conn.transaction():
        cur = await conn.execute(Q.complete, {"worker": claimer.worker, "done": payload})
        # hooks lock workflow rows: a fixed order keeps two workers' batches from deadlocking
        rows = sorted(await cur.fetchall(), key=lambda r: (str(r.get("workflow_id") or ""), r["id"]))
        for row in rows:
            for hook in claimer.hooks.on_complete:
                try:
                    await hook(conn, row, results[row["id"]])
                except Exception as exc:
                    raise HookFailed(row["id"], exc, traceback.format_exc()) from exc
    return [row["id"] for row in rows]


async def complete(
    conn: AsyncConnection,
    claimer: Claimer,
    done: Sequence[tuple[TaskRow, dict[str, Any]]],
    *,
    retry_base_s: float = 2.0,
    retry_max_s: float = 600.0,
) -> list[int]:
    """Mark tasks completed with their results and call the claimer's on_complete hooks, all in one transaction.

    When a hook raises, the batch is rolled back and its tasks are completed one by one; the task whose
    hook raised gets a failed attempt instead (retried with back-off), so the workflow engine never misses
    a step. Returns the ids marked completed; tasks whose lease moved on (rescued meanwhile) are left alone.
    """
    if not done:
        return []
    try:
        return await _complete_batch(conn, claimer, done)
    except HookFailed as failure:
        if len(done) > 1:
            completed: list[int] = []
            for item in done:
                completed += await complete(conn, claimer, [item], retry_base_s=retry_base_s, retry_max_s=retry_max_s)
            return completed
        row = done[0][0]
        log.error("on-complete hook raised for task %s; the attempt counts as failed: %s", row["id"], failure.cause)
        message = f"completion hook failed: {type(failure.cause).__name__}: {failure.cause}"
        delay = backoff_s(row["attempts"], retry_base_s, retry_max_s)
        await fail(conn, claimer, row, message, failure.tb, "retry", delay)
        return []


async def _fail_in_tx(
    conn: AsyncConnection,
    claimer: Claimer,
    row: TaskRow,
    message: str,
    tb: str | None,
    outcome: Outcome,
    delay_s: float,
    reason: Reason | None,
) -> TaskRow | None:
    cur = await conn.execute(
        Q.fail,
        {
            "id": row["id"],
            "attempt": row["attempts"],
            "worker": claimer.worker,
            "outcome": outcome,
            "message": message,
            "traceback": tb,
            "delay_s": delay_s,
            "code": reason.code if reason else None,
            "reason": reason.message if reason else None,
        },
    )
    updated = await cur.fetchone()
    if updated is None:
        return None
    await _run_fail_hooks(conn, claimer.hooks, updated, message)
    if updated["status"] == "pending":
        await conn.execute("SELECT pg_notify('aether_tasks', %s)", (updated["agent_name"] or "",))
    return updated


async def fail(
    conn: AsyncConnection,
    claimer: Claimer,
    row: TaskRow,
    message: str,
    tb: str | None,
    outcome: Outcome,
    delay_s: float,
    reason: Reason | None = None,
) -> TaskRow | None:
    """Record a failed attempt: back to pending after `delay_s` (outcome 'retry' with attempts left),
    or 'failed' / 'cancelled' for good; the claimer's on_fail hooks run in the same transaction. None when the task
    was no longer this worker's (rescued meanwhile)."""
    async with conn.transaction():
        return await _fail_in_tx(conn, claimer, row, message, tb, outcome, delay_s, reason)


async def rescue(conn: AsyncConnection, *, hooks: Hooks, batch: int = 100) -> list[TaskRow]:
    """Retry (or fail, when out of attempts) the running tasks whose lease expired, running `hooks.on_fail`
    for each; returns them."""
    async with conn.transaction():
        cur = await conn.execute(Q.rescue, {"batch": batch})
        rows = list(await cur.fetchall())
        for row in rows:
            await _run_fail_hooks(conn, hooks, row, row["last_error"]["message"])
        if any(row["status"] == "pending" for row in rows):
            await conn.execute("SELECT pg_notify('aether_tasks', '')")
    for row in rows:
        log.warning(
            "rescued task %s (%s): lease of %s expired; now %s",
            row["id"],
            row["task_type"],
            row["lease_owner"],
            row["status"],
        )
    return rows


async def next_due_s(conn: AsyncConnection, claimer: Claimer) -> float | None:
    """Seconds until the earliest pending task this claimer could run is due (None: nothing pending)."""
    async with conn.transaction():
        cur = await conn.execute(Q.next_due, claimer.params())
        row = await cur.fetchone()
    return None if row is None or row["wait_s"] is None else float(row["wait_s"])
