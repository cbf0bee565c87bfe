"""Scratch folders of tasks: `AETHER_HOME/work/<kind>-t<task id>a<attempt>-<random>`.

A render step (vfa, video) works in a scratch folder of its own and removes it when it ends; a worker
killed with `kill -9` cannot, and leaves it behind. The folder's name says which attempt of which task
owns it (`make_dir`), so `sweep` (the `scratch` maintenance job) can remove every folder whose attempt is
no longer running in the queue. Two guards: a folder changed within `grace_s` is kept whatever its owner
(a render may be making it while the sweep reads the queue), and a folder that names no task (made
outside a task, e.g. by a benchmark, or by an older version) is removed only after UNOWNED_AFTER_S.

Each machine sweeps its own AETHER_HOME: the job runs where a worker of the `maintenance` agent runs.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from aether.config import Settings
from aether.db import Connection, load_queries
from aether.queue.tasks import TaskContext

Q = load_queries(__file__, "scratch.sql")

KINDS = ("vfa", "video")
UNOWNED_AFTER_S = 24 * 3600.0
_NAME = re.compile(r"^(?P<kind>[a-z]+)-(?:t(?P<task>\d+)a(?P<attempt>\d+)-)?[A-Za-z0-9_]+$")


def work_root(settings: Settings) -> Path:
    return settings.home / "work"


def owner(ctx: TaskContext) -> str:
    """The owner tag of the running attempt of a task, as scratch folder names carry it."""
    return f"t{ctx.task_id}a{ctx.attempt}"


def make_dir(settings: Settings, kind: str, owner: str | None = None) -> Path:
    """A new scratch folder under AETHER_HOME/work, named after its owner (`owner(ctx)`) when a task makes it."""
    if kind not in KINDS:
        raise ValueError(f"scratch kind must be one of {', '.join(KINDS)} (got {kind!r})")
    root = work_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{kind}-{owner}-" if owner else f"{kind}-", dir=root))


@dataclass
class Swept:
    removed: list[str] = field(default_factory=list)
    kept_live: list[str] = field(default_factory=list)  # their task's attempt is running
    kept_recent: list[str] = field(default_factory=list)  # changed within the grace period
    freed_bytes: int = 0

    def detail(self) -> dict[str, object]:
        return {
            "removed": self.removed,
            "kept_live": self.kept_live,
            "kept_recent": self.kept_recent,
            "freed_bytes": self.freed_bytes,
        }


def sweep(conn: Connection, settings: Settings, *, grace_s: float, now: float | None = None) -> Swept:
    """Remove the scratch folders under AETHER_HOME/work that no running task attempt owns."""
    root = work_root(settings)
    swept = Swept()
    if not root.is_dir():
        return swept
    folders: list[tuple[Path, re.Match[str]]] = []
    for path in sorted(root.iterdir()):
        found = _NAME.match(path.name)
        if found and found["kind"] in KINDS and path.is_dir() and not path.is_symlink():
            folders.append((path, found))
    ids = sorted({int(m["task"]) for _, m in folders if m["task"]})
    rows = conn.execute(Q.live_attempts, {"ids": ids}).fetchall() if ids else []
    live = {(int(r["id"]), int(r["attempts"])) for r in rows}
    now = time.time() if now is None else now
    for path, found in folders:
        age = now - _changed_at(path)
        if found["task"] and (int(found["task"]), int(found["attempt"])) in live:
            swept.kept_live.append(path.name)
        elif age < grace_s or (not found["task"] and age < UNOWNED_AFTER_S):
            swept.kept_recent.append(path.name)
        else:
            swept.freed_bytes += _size(path)
            shutil.rmtree(path, ignore_errors=True)
            swept.removed.append(path.name)
    return swept


def _changed_at(path: Path) -> float:
    """The newest change time of the folder and what lies directly in it."""
    newest = path.stat().st_mtime
    for child in path.iterdir():
        try:
            newest = max(newest, child.lstat().st_mtime)
        except FileNotFoundError:
            continue
    return newest


def _size(path: Path) -> int:
    total = 0
    for child in path.rglob("*"):
        try:
            if child.is_file() and not child.is_symlink():
                total += child.stat().st_size
        except FileNotFoundError:
            continue
    return total
