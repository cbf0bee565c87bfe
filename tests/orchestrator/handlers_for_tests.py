"""Task handlers for the workflow end-to-end tests; worker subprocesses import this with `--handlers`.

Agent `wftest`. Each handler's output feeds the next step's inputs; the cover step performs a guarded
side effect (a row in `wftest_effects`) and can hang after it until the worker is killed or cancelled.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aether.errors import PermanentError
from aether.queue.tasks import Blueprint, TaskContext

AGENT = "wftest"
TABLES_SQL = """
CREATE TABLE IF NOT EXISTS wftest_effects (
  id SERIAL PRIMARY KEY, workflow_id TEXT NOT NULL, step TEXT NOT NULL, task_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS wftest_events (
  id SERIAL PRIMARY KEY, workflow_id TEXT NOT NULL, step TEXT NOT NULL, task_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL, what TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS wftest_flags (name TEXT PRIMARY KEY);
"""


tasks = Blueprint()


async def _event(ctx: TaskContext, what: str) -> None:
    async with ctx.db.connection() as conn:
        await conn.execute(
            "INSERT INTO wftest_events (workflow_id, step, task_id, attempt, what) VALUES (%s, %s, %s, %s, %s)",
            (ctx.workflow_id, ctx.step_name, ctx.task_id, ctx.attempt, what),
        )


async def _flag(ctx: TaskContext, name: str) -> bool:
    async with ctx.db.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM wftest_flags WHERE name = %s", (name,))
        return await cur.fetchone() is not None


@tasks.task("wftest.topic", agent=AGENT)
async def topic(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    await _event(ctx, "ran")
    return {"title": f"All about {payload['query']}"}


@tasks.task("wftest.script", agent=AGENT)
async def script(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    await _event(ctx, "ran")
    return {"text": f"Welcome. Today: {payload['title']}."}


@tasks.task("wftest.cover", agent=AGENT)
async def cover(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    async def store() -> dict[str, Any]:
        async with ctx.db.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO wftest_effects (workflow_id, step, task_id) VALUES (%s, %s, %s) RETURNING id",
                (ctx.workflow_id, ctx.step_name, ctx.task_id),
            )
            row = await cur.fetchone()
        assert row is not None
        return {"uri": f"file:///covers/{row['id']}.png", "effect_id": row["id"]}

    stored = await ctx.once("cover.store", store)
    await _event(ctx, "ran")
    hang = payload.get("hang")
    if hang == "always" or (hang == "first" and ctx.attempt == 1):
        await _event(ctx, "hanging")
        await asyncio.Event().wait()  # only a kill or a cancellation ends this
    return stored


@tasks.task("wftest.voice", agent=AGENT)
async def voice(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    await _event(ctx, "ran")
    if payload.get("needs_flag") and not await _flag(ctx, "voice-ready"):
        raise PermanentError("the voice engine is not installed")
    return {"audio": "file:///episode.mp3", "script": payload["text"], "cover": payload["cover"]}
