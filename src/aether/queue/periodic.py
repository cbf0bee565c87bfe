"""Periodic tasks: cron schedules stored in `periodic_tasks`; the scheduler enqueues each tick.

A tick fires exactly once however many schedulers run: firing inserts the row (schedule, tick) into
`periodic_ticks` (primary key) in the same transaction that enqueues the task, so a second scheduler's
insert finds the row and does nothing. When ticks were missed (no scheduler ran), only the latest
missed tick fires.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from croniter import CroniterBadCronError, croniter
from psycopg.types.json import Jsonb

from aether.config import Settings
from aether.db.pool import AsyncConnection, Database
from aether.db.queries import load_queries
from aether.errors import DatabaseUnavailable, NotFound, ValidationFailed
from aether.queue import lifecycle
from aether.queue.enqueue import NewTask, enqueue, validate
from aether.queue.tasks import Hooks

Q = load_queries(__file__, "periodic.sql")
log = logging.getLogger(__name__)

TICK_RETENTION_DAYS = 30
MAX_CATCH_UP = 10_000


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    cron: str
    task_type: str
    agent: str
    payload: dict[str, Any] = field(default_factory=dict)
    priority: int = 1
    max_attempts: int = 5
    enabled: bool = True

    def params(self) -> dict[str, Any]:
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > 100:
            raise ValidationFailed("name must be a non-empty string of at most 100 characters", field="name")
        check_cron(self.cron)
        validate(NewTask(self.task_type, self.agent, self.payload, self.priority, max_attempts=self.max_attempts))
        return {
            "name": self.name,
            "cron": self.cron,
            "task_type": self.task_type,
            "agent": self.agent,
            "payload": Jsonb(self.payload),
            "priority": self.priority,
            "max_attempts": self.max_attempts,
            "enabled": self.enabled,
        }


def check_cron(expression: str) -> None:
    if not isinstance(expression, str) or not expression.strip() or len(expression) > 100:
        raise ValidationFailed("cron must be a cron expression such as '*/5 * * * *'", field="cron")
    try:
        croniter(expression, datetime(2000, 1, 1))
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise ValidationFailed(f"cron {expression!r} is not a valid cron expression: {exc}", field="cron") from None


async def upsert_periodic(conn: AsyncConnection, task: PeriodicTask) -> int:
    """Create or replace the schedule named `task.name`."""
    cur = await conn.execute(Q.upsert_periodic, task.params())
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def ensure_periodic(conn: AsyncConnection, task: PeriodicTask) -> bool:
    """Create the schedule unless one of that name exists (an operator's edits are kept)."""
    cur = await conn.execute(Q.ensure_periodic, task.params())
    return await cur.fetchone() is not None


async def remove_periodic(conn: AsyncConnection, name: str) -> None:
    cur = await conn.execute(Q.remove_periodic, {"name": name})
    if cur.rowcount == 0:
        raise NotFound(f"no periodic task named {name!r}", field="name")


async def set_periodic_enabled(conn: AsyncConnection, name: str, enabled: bool) -> None:
    cur = await conn.execute(Q.set_enabled, {"name": name, "enabled": enabled})
    if cur.rowcount == 0:
        raise NotFound(f"no periodic task named {name!r}", field="name")


async def list_periodic(conn: AsyncConnection) -> list[dict[str, Any]]:
    cur = await conn.execute(Q.list_periodic)
    return [dict(row) for row in await cur.fetchall()]


def latest_tick(cron: str, after: datetime, now: datetime) -> datetime | None:
    """The latest tick of `cron` in (after, now], or None."""
    it = croniter(cron, after)
    tick: datetime = it.get_next(datetime)
    if tick > now:
        return None
    for _ in range(MAX_CATCH_UP):
        following: datetime = it.get_next(datetime)
        if following > now:
            return tick
        tick = following
    previous: datetime = croniter(cron, now + timedelta(microseconds=1)).get_prev(datetime)
    return previous


@dataclass(frozen=True)
class Fired:
    schedule: str
    tick_at: datetime
    task_id: int


async def fire_due(db: Database, now: datetime | None = None) -> list[Fired]:
    """Enqueue the due tick of every enabled schedule (each tick once, across all schedulers)."""
    fired: list[Fired] = []
    async with db.connection() as conn:
        async with conn.transaction():
            cur = await conn.execute(Q.due_schedules)
            schedules = await cur.fetchall()
        for schedule in schedules:
            current = now or schedule["db_now"]
            base = schedule["last_tick_at"] or schedule["created_at"]
            try:
                tick = latest_tick(schedule["cron"], base, current)
            except (CroniterBadCronError, ValueError, KeyError) as exc:
                log.error("periodic task %s has a bad cron %r: %s", schedule["name"], schedule["cron"], exc)
                continue
            if tick is None:
                continue
            async with conn.transaction():
                cur = await conn.execute(Q.record_tick, {"id": schedule["id"], "tick_at": tick})
                if await cur.fetchone() is not None:
                    (task_id,) = await enqueue(
                        conn,
                        NewTask(
                            schedule["task_type"],
                            schedule["agent_name"],
                            schedule["payload"] or {},
                            priority=schedule["priority"],
                            max_attempts=schedule["max_attempts"],
                            dedupe_key=f"periodic:{schedule['name']}:{tick.isoformat()}",
                        ),
                    )
                    await conn.execute(Q.link_tick, {"id": schedule["id"], "tick_at": tick, "task_id": task_id})
                    fired.append(Fired(schedule["name"], tick, task_id))
                    log.info("periodic task %s: tick %s enqueued as task %s", schedule["name"], tick, task_id)
                await conn.execute(Q.advance, {"id": schedule["id"], "tick_at": tick})
    return fired


async def prune_ticks(db: Database, days: int = TICK_RETENTION_DAYS) -> int:
    return await db.execute(Q.prune_ticks, {"days": days})


async def run_scheduler(settings: Settings, db: Database, stop: asyncio.Event, *, hooks: Hooks) -> None:
    """The scheduler loop: fire due ticks, rescue expired leases (running `hooks` for them), prune old
    ticks, until `stop` is set."""
    last_prune = 0.0
    loop = asyncio.get_running_loop()
    last_rescue = 0.0
    while not stop.is_set():
        try:
            await fire_due(db)
            if loop.time() - last_rescue >= settings.queue_rescue_interval_s:
                async with db.connection() as conn:
                    await lifecycle.rescue(conn, hooks=hooks)
                last_rescue = loop.time()
            if loop.time() - last_prune > 3600:
                await prune_ticks(db)
                last_prune = loop.time()
        except (DatabaseUnavailable, psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
            log.warning("scheduler pass failed, the database is unavailable (%s); trying again", exc)
        except Exception:
            log.exception("scheduler pass failed; trying again")
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.scheduler_interval_s)
        except TimeoutError:
            pass
