"""Scratch folders: a render's folder is named after its task attempt; the `scratch` maintenance job
removes the folders no running attempt owns (a killed worker's), keeps the folder of a task that is
running right now, and keeps anything changed within the grace period."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from aether.config import Settings
from aether.db.pool import Connection, Database
from aether.idempotency import run_once
from aether.ops.maintenance import run_job
from aether.queue import scratch
from aether.queue.enqueue import NewTask, enqueue_sync
from aether.queue.tasks import NO_HOOKS, HandlerSpec, TaskContext
from aether.queue.worker import Worker, WorkerOptions
from tests.queue.helpers import until

HOUR = 3600.0


def _aged(path: Path, seconds: float) -> Path:
    """Make the folder and what is in it look `seconds` old."""
    stamp = time.time() - seconds
    for child in [*path.rglob("*"), path]:
        os.utime(child, (stamp, stamp))
    return path


def _folder(root: Path, name: str, *, age_s: float, size: int = 4096) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "part.wav").write_bytes(b"\0" * size)
    return _aged(path, age_s)


def test_a_folder_is_named_after_the_task_attempt(settings: Settings) -> None:
    ctx = TaskContext(task_id=42, task_type="vfa.synthesize", agent="vfa", attempt=3, settings=settings, db=None)  # type: ignore[arg-type]
    made = scratch.make_dir(settings, "vfa", scratch.owner(ctx))
    assert made.parent == settings.home / "work" and made.name.startswith("vfa-t42a3-") and made.is_dir()
    assert scratch.make_dir(settings, "video").name.startswith("video-")


async def test_the_job_removes_what_no_running_task_owns(
    settings: Settings, db: Database, sync_conn: Connection
) -> None:
    root = settings.home / "work"
    finished, dead, other = enqueue_sync(
        sync_conn, [NewTask("test.done", "test", {}), NewTask("test.dead", "test", {}), NewTask("test.x", "test", {})]
    )
    sync_conn.execute("UPDATE tasks SET status = 'completed', attempts = 1 WHERE id = %s", (finished,))
    # the worker running `dead` was killed: the task was rescued and runs again as attempt 2 elsewhere
    sync_conn.execute("UPDATE tasks SET status = 'in_progress', attempts = 2 WHERE id = %s", (dead,))
    sync_conn.execute("DELETE FROM tasks WHERE id = %s", (other,))  # pruned long ago

    started, release = asyncio.Event(), asyncio.Event()
    made: list[Path] = []

    async def render(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
        """A render step: works in its scratch folder until the test lets it finish."""
        made.append(scratch.make_dir(ctx.settings, "vfa", scratch.owner(ctx)))
        (made[0] / "line-0001.wav").write_bytes(b"\0" * 1024)
        started.set()
        await release.wait()
        return {}

    assert settings.database_url is not None
    worker_db = await Database(settings, settings.database_url.get_secret_value()).open()
    handlers = {"test.render": HandlerSpec("test.render", "test", render)}
    worker = Worker(settings, worker_db, handlers, WorkerOptions(listen=False), hooks=NO_HOOKS, once=run_once)
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.ready_event.wait(), 10)
        (live,) = enqueue_sync(sync_conn, NewTask("test.render", "test", {}))
        await asyncio.wait_for(started.wait(), 30)
        _aged(made[0], 2 * HOUR)  # a long render: its folder is old, but its task is running

        folders = {
            "finished": _folder(root, f"vfa-t{finished}a1-k2j3h4", age_s=2 * HOUR, size=10_000),
            "dead_attempt": _folder(root, f"video-t{dead}a1-9x8y7z", age_s=2 * HOUR, size=20_000),
            "pruned_task": _folder(root, f"vfa-t{other}a1-abc123", age_s=2 * HOUR, size=30_000),
            "just_made": _folder(root, f"vfa-t{finished}a1-fresh0", age_s=5),
            "unowned_old": _folder(root, "vfa-oldstyle", age_s=30 * HOUR, size=40_000),
            "unowned_young": _folder(root, "video-oldstyle", age_s=2 * HOUR),
            "not_scratch": _folder(root, "keep-me", age_s=30 * HOUR),
        }
        record = await asyncio.to_thread(run_job, settings, "scratch")
        assert record.outcome == "succeeded", record.error
        detail = record.detail
        gone = {"finished", "dead_attempt", "pruned_task", "unowned_old"}
        assert sorted(detail["removed"]) == sorted(folders[k].name for k in gone)
        assert detail["kept_live"] == [made[0].name]
        assert sorted(detail["kept_recent"]) == sorted(folders[k].name for k in ("just_made", "unowned_young"))
        assert detail["freed_bytes"] == 10_000 + 20_000 + 30_000 + 40_000
        assert {k for k, p in folders.items() if not p.exists()} == gone
        assert made[0].is_dir() and (made[0] / "line-0001.wav").is_file()

        release.set()
        await until(lambda: _finished(db, live), timeout=30, what="the render task to finish")
    finally:
        release.set()
        worker.request_stop(hard=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, 20)
        await worker_db.close()

    # its task finished (without removing its folder, as a killed worker would): the next run removes it
    again = scratch.sweep(sync_conn, settings, grace_s=0)
    assert made[0].name in again.removed and not made[0].exists()
    assert (root / "keep-me").is_dir()


async def _finished(db: Database, task_id: int) -> bool:
    row = await db.fetch_one("SELECT status FROM tasks WHERE id = %s", (task_id,))
    return row is not None and row["status"] == "completed"
