"""Task metrics: every finished task records its duration, every failed attempt a failure, and the work it
paid for: `tts_seconds` for speech a VFA task synthesized and `llm_tokens` for any task whose result reports
`token_usage` (cached results record nothing, so a cache hit costs nothing in the figures either).

`HOOKS` are queue completion hooks (aether.queue.tasks.Hooks, composed in aether.run.wiring), so the
metric is written in the same transaction that finishes the task. A metric that cannot be written never
fails the task: each hook runs in a savepoint and only logs its error.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aether.analytics.recording import LLM_TOKENS, TASK_DURATION_SECONDS, TASK_FAILURES, TTS_SECONDS, record_async
from aether.db import AsyncConnection
from aether.queue.tasks import JSON, Hooks

log = logging.getLogger(__name__)


def _dimensions(row: dict[str, Any]) -> dict[str, Any]:
    payload = row.get("payload") if isinstance(row.get("payload"), dict) else {}
    assert isinstance(payload, dict)
    found: dict[str, Any] = {"task_type": row.get("task_type"), "task_id": row.get("id")}
    if row.get("workflow_id"):
        found["workflow_id"] = str(row["workflow_id"])
    for key in ("show_id", "episode_id"):
        value = payload.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            found[key] = value
    return found


def _seconds(row: dict[str, Any], end: datetime | None) -> float | None:
    started = row.get("started_at")
    if not isinstance(started, datetime) or not isinstance(end, datetime):
        return None
    return max(0.0, (end - started).total_seconds())


async def _now(conn: AsyncConnection) -> datetime:
    cur = await conn.execute("SELECT clock_timestamp() AT TIME ZONE 'UTC' AS now")
    row = await cur.fetchone()
    assert row is not None
    now: datetime = row["now"]
    return now


async def record_task_completed(conn: AsyncConnection, row: dict[str, Any], result: JSON) -> None:
    try:
        async with conn.transaction():
            seconds = _seconds(row, row.get("completed_at") or await _now(conn))
            if seconds is not None:
                agent = row.get("agent_name") or None
                await record_async(
                    conn, TASK_DURATION_SECONDS, seconds, agent, outcome="completed",
                    attempts=row.get("attempts"), **_dimensions(row),
                )  # fmt: skip
            await _record_usage(conn, row, result)
    except Exception:
        log.exception("could not record the duration of task %s", row.get("id"))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else None


async def _record_usage(conn: AsyncConnection, row: dict[str, Any], result: JSON) -> None:
    if not isinstance(result, dict) or result.get("cached") or result.get("cache_hit"):
        return
    agent = row.get("agent_name") or None
    speech = _number(result.get("duration_s"))
    if row.get("task_type") == "vfa.synthesize" and speech is not None:
        await record_async(conn, TTS_SECONDS, speech, agent, **_dimensions(row))
    usage = result.get("token_usage")
    tokens = _number(usage.get("total_tokens")) if isinstance(usage, dict) else None
    if tokens is not None and isinstance(usage, dict):
        dimensions: dict[str, Any] = {
            k: usage[k] for k in ("prompt_tokens", "completion_tokens") if isinstance(usage.get(k), int)
        }
        if isinstance(result.get("model"), str):
            dimensions["model"] = result["model"]
        await record_async(conn, LLM_TOKENS, int(tokens), agent, **dimensions, **_dimensions(row))


async def record_task_failed(conn: AsyncConnection, row: dict[str, Any], message: str, final: bool) -> None:
    try:
        async with conn.transaction():
            agent = row.get("agent_name") or None
            outcome = "cancelled" if row.get("status") == "cancelled" else "failed"
            await record_async(conn, TASK_FAILURES, 1, agent, final=final, outcome=outcome, **_dimensions(row))
            seconds = _seconds(row, await _now(conn)) if final else None
            if seconds is not None:
                await record_async(
                    conn, TASK_DURATION_SECONDS, seconds, agent, outcome=outcome,
                    attempts=row.get("attempts"), **_dimensions(row),
                )  # fmt: skip
    except Exception:
        log.exception("could not record the failure of task %s", row.get("id"))


HOOKS = Hooks(on_complete=(record_task_completed,), on_fail=(record_task_failed,))
