"""`aether demo`: one whole episode, offline, end to end.

The sample sources shipped in `aether/samples` (a feed and three short articles written for the
project) are read from the package's files (aether.agents.tda.fetch); the database is started (embedded unless
AETHER_DATABASE_URL is set) and migrated; a worker runs in this process; the `podcast_episode` workflow
runs from topic discovery to video while a table shows each step. At the end every asset's URI is
printed; with --json the last line of stdout is one JSON object: the workflow id, its status and every
asset's URI and type.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from aether.agents.tda.fetch import SAMPLES_FEED
from aether.config import Settings
from aether.db.connect import migrate_database, open_database
from aether.errors import AetherError
from aether.idempotency import run_once
from aether.orchestrator import get_workflow_state, start_workflow
from aether.podcasts import workflow
from aether.podcasts.demo import DEMO_TOPIC
from aether.queue.worker import Worker, WorkerOptions
from aether.run import wiring
from aether.run.hooks import HOOKS

TERMINAL = frozenset({"completed", "failed", "cancelled"})


def collect_assets(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every asset the steps name in their outputs (`assets: {role: {id, uri, type}}`), in step order."""
    found: dict[str, dict[str, Any]] = {}
    for step in state.get("steps", []):
        output = step.get("output_summary") or {}
        assets = output.get("assets") if isinstance(output, dict) else None
        if not isinstance(assets, dict):
            continue
        for role, item in assets.items():
            if isinstance(item, dict) and isinstance(item.get("uri"), str):
                found.setdefault(item["uri"], {"step": step["step_name"], "role": role, **item})
    return list(found.values())


def step_status(step: dict[str, Any]) -> str:
    """The step's status, or "skipped" for a step that completed without doing its work (the video of
    `--no-video`: its handler answers `{"skipped": true}`)."""
    output = step.get("output_summary")
    if step["status"] == "completed" and isinstance(output, dict) and output.get("skipped") is True:
        return "skipped"
    return str(step["status"])


def _table(state: dict[str, Any], started: float) -> Table:
    table = Table(title=f"podcast_episode {state['workflow_id']}  ({time.monotonic() - started:.0f} s)")
    table.add_column("step")
    table.add_column("agent")
    table.add_column("status")
    table.add_column("attempts", justify="right")
    colours = {"completed": "green", "failed": "red", "in_progress": "yellow", "queued": "cyan", "skipped": "dim"}
    for step in state["steps"]:
        status = step_status(step)
        table.add_row(
            step["step_name"], step["agent_name"], f"[{colours.get(status, 'white')}]{status}", str(step["attempts"])
        )
    return table


async def run_demo(
    settings: Settings, *, minutes: float, topic: str, video: bool, timeout: float, progress: Console
) -> dict[str, Any]:
    await asyncio.to_thread(migrate_database, settings)
    db = await open_database(settings, name="aether-demo")
    options = WorkerOptions(concurrency=8, listen=settings.database_listen)
    worker = Worker(settings, db, wiring.TASKS.handlers, options, hooks=HOOKS, once=run_once)
    worker_task = asyncio.create_task(worker.run())
    try:
        params = {
            "topic": DEMO_TOPIC,
            "title": topic,
            "sources": [SAMPLES_FEED],
            "urls": [],
            "show_title": settings.script_show_title,
            "show_author": "",
            "hosts": [h["name"] for h in settings.script_hosts],
            "cast": [
                {"name": h["name"], "persona": h.get("persona", ""), "voice": None} for h in settings.script_hosts
            ],
            "intro": None,
            "outro": None,
            "language": settings.script_language,
            "episode_minutes": minutes,
            "video": video,
        }
        async with db.connection() as conn:
            workflow_id = await start_workflow(conn, workflow.NAME, params, trigger="cli")
        started = time.monotonic()
        async with db.connection() as conn:
            state = await get_workflow_state(conn, workflow_id)
        with Live(_table(state, started), console=progress, refresh_per_second=4, transient=False) as live:
            while state["status"] not in TERMINAL:
                if time.monotonic() - started > timeout:
                    raise AetherError(f"the demo workflow {workflow_id} did not finish within {timeout:.0f} s")
                if worker_task.done():
                    worker_task.result()
                    raise AetherError("the demo's worker stopped unexpectedly")
                await asyncio.sleep(0.5)
                async with db.connection() as conn:
                    state = await get_workflow_state(conn, workflow_id)
                live.update(_table(state, started))
        return state
    finally:
        worker.request_stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(worker_task, timeout=30)
        await db.close()


def demo_command(settings: Settings, *, minutes: float, topic: str, video: bool, as_json: bool, timeout: float) -> int:
    progress = Console(stderr=True)
    state = asyncio.run(
        run_demo(settings, minutes=minutes, topic=topic, video=video, timeout=timeout, progress=progress)
    )
    assets = collect_assets(state)
    out = Console()
    if state["status"] != "completed":
        failed = [s for s in state["steps"] if s["status"] == "failed"]
        reason = state.get("error_message") or "; ".join(
            f"{s['step_name']}: {json.dumps(s.get('error_details'))[:300]}" for s in failed
        )
        progress.print(f"[red]workflow {state['workflow_id']} {state['status']}: {reason}")
    elif not as_json:
        out.print(f"[bold]Episode ready[/bold] (workflow {state['workflow_id']}):")
        for asset in assets:
            out.print(f"  {asset['type']:<10} {asset['role']:<12} {asset['uri']}", soft_wrap=True, highlight=False)
    if as_json:
        print(
            json.dumps(
                {
                    "workflow_id": str(state["workflow_id"]),
                    "status": state["status"],
                    "assets": [
                        {"type": a["type"], "role": a["role"], "uri": a["uri"], "id": a.get("id"), "step": a["step"]}
                        for a in assets
                    ],
                }
            )
        )
    return 0 if state["status"] == "completed" else 1
