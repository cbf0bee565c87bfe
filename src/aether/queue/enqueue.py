"""Putting tasks on the queue: one or many in one round trip, inside the caller's transaction.

Workers are woken by a NOTIFY that PostgreSQL delivers when the caller's transaction commits.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aether.db.pool import AsyncConnection, Connection
from aether.db.queries import load_queries
from aether.errors import ValidationFailed
from aether.text.controls import check_text, check_value

Q = load_queries(__file__, "enqueue.sql")

MAX_TASK_TYPE = 50
MAX_AGENT = 100
MAX_DEDUPE_KEY = 255
MAX_STEP_NAME = 100
_RACE_RETRIES = 5


@dataclass(frozen=True)
class NewTask:
    """A task to enqueue. `priority`: higher runs first. `scheduled_at`: run not before (UTC)."""

    task_type: str
    agent: str
    payload: dict[str, Any]
    priority: int = 1
    scheduled_at: datetime | None = None
    max_attempts: int = 5
    dedupe_key: str | None = None
    workflow_id: str | uuid.UUID | None = None
    step_name: str | None = None


def _utc_naive(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()


def _check_name(value: object, field: str, limit: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{field} must be a non-empty string", field=field)
    if len(value) > limit:
        raise ValidationFailed(f"{field} must be at most {limit} characters (got {len(value)})", field=field)
    check_text(value, field)


def validate(task: NewTask) -> dict[str, Any]:
    """The task as one JSON-ready record; bad input raises ValidationFailed naming the field."""
    _check_name(task.task_type, "task_type", MAX_TASK_TYPE)
    _check_name(task.agent, "agent", MAX_AGENT)
    _check_name(task.dedupe_key, "dedupe_key", MAX_DEDUPE_KEY, optional=True)
    _check_name(task.step_name, "step_name", MAX_STEP_NAME, optional=True)
    if not isinstance(task.payload, dict):
        raise ValidationFailed("payload must be a JSON object (a dict)", field="payload")
    check_value(task.payload, "payload")
    if isinstance(task.priority, bool) or not isinstance(task.priority, int):
        raise ValidationFailed("priority must be an integer", field="priority")
    if not -(2**31) <= task.priority < 2**31:
        raise ValidationFailed("priority must fit in a 32-bit integer", field="priority")
    if isinstance(task.max_attempts, bool) or not isinstance(task.max_attempts, int) or task.max_attempts < 1:
        raise ValidationFailed("max_attempts must be an integer of at least 1", field="max_attempts")
    if task.max_attempts > 1000:
        raise ValidationFailed("max_attempts must be at most 1000", field="max_attempts")
    if task.scheduled_at is not None and not isinstance(task.scheduled_at, datetime):
        raise ValidationFailed("scheduled_at must be a datetime", field="scheduled_at")
    workflow_id: str | None = None
    if task.workflow_id is not None:
        try:
            workflow_id = str(uuid.UUID(str(task.workflow_id)))
        except ValueError:
            raise ValidationFailed(
                f"workflow_id must be a UUID (got {task.workflow_id!r})", field="workflow_id"
            ) from None
    try:
        json.dumps(task.payload)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"payload must be JSON-serialisable: {exc}", field="payload") from None
    return {
        "task_type": task.task_type,
        "agent": task.agent,
        "payload": task.payload,
        "priority": task.priority,
        "scheduled_at": _utc_naive(task.scheduled_at) if task.scheduled_at is not None else None,
        "max_attempts": task.max_attempts,
        "dedupe_key": task.dedupe_key,
        "workflow_id": workflow_id,
        "step_name": task.step_name,
    }


def _records(tasks: NewTask | Iterable[NewTask]) -> list[dict[str, Any]]:
    items: Sequence[NewTask] = [tasks] if isinstance(tasks, NewTask) else list(tasks)
    records = []
    for ord_, task in enumerate(items):
        if not isinstance(task, NewTask):
            raise ValidationFailed(f"tasks[{ord_}] must be a NewTask (got {type(task).__name__})", field="tasks")
        record = validate(task)
        record["ord"] = ord_
        records.append(record)
    return records


def _merge(ids: list[int | None], rows: list[dict[str, Any]], pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill `ids` from the rows returned for `pending`; return the records that still need a run."""
    again = []
    for row, record in zip(rows, pending, strict=True):
        if row["id"] is None:
            again.append(record)
        else:
            ids[record["ord"]] = row["id"]
    return again


async def enqueue(conn: AsyncConnection, tasks: NewTask | Iterable[NewTask]) -> list[int]:
    """Insert tasks in the caller's transaction; returns their ids in input order (for a dedupe_key
    that a live task already holds, that task's id)."""
    pending = _records(tasks)
    ids: list[int | None] = [None] * len(pending)
    for _ in range(_RACE_RETRIES):
        if not pending:
            break
        cur = await conn.execute(Q.enqueue, {"tasks": json.dumps(pending)})
        pending = _merge(ids, list(await cur.fetchall()), pending)
    if pending:
        raise RuntimeError(f"could not enqueue {len(pending)} task(s): concurrent enqueues kept conflicting")
    return [i for i in ids if i is not None]


def enqueue_sync(conn: Connection, tasks: NewTask | Iterable[NewTask]) -> list[int]:
    """`enqueue` for synchronous code (CLI, migrations of data, tests)."""
    pending = _records(tasks)
    ids: list[int | None] = [None] * len(pending)
    for _ in range(_RACE_RETRIES):
        if not pending:
            break
        rows = conn.execute(Q.enqueue, {"tasks": json.dumps(pending)}).fetchall()
        pending = _merge(ids, list(rows), pending)
    if pending:
        raise RuntimeError(f"could not enqueue {len(pending)} task(s): concurrent enqueues kept conflicting")
    return [i for i in ids if i is not None]
