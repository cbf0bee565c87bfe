"""`aether up`: the whole system on one machine. The database (embedded unless AETHER_DATABASE_URL),
migrations, demo content on an empty installation, a worker and the scheduler as child processes, and
the gateway in this process on http://127.0.0.1:8000. Ctrl-C (or SIGTERM) stops everything, the
embedded PostgreSQL too when this command started it."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from types import FrameType

from rich.console import Console

from aether.config import Settings
from aether.db.connect import migrate_database, open_database
from aether.db.embedded import EmbeddedServer
from aether.podcasts.demo import ensure_demo_content
from aether.run.serve import serve
from aether.security.roles import service_settings

log = logging.getLogger(__name__)
console = Console()


def _children(settings: Settings) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ)
    env["AETHER_HOME"] = str(settings.home)
    base = [sys.executable, "-m", "aether.cli"]
    commands = [[*base, "worker"], [*base, "scheduler"]]
    return [subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL) for cmd in commands]


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


async def _demo(settings: Settings) -> str | None:
    db = await open_database(settings, name="aether-up")
    try:
        return await ensure_demo_content(db, settings)
    finally:
        await db.close()


def run(settings: Settings, port: int, host: str) -> None:
    embedded = EmbeddedServer(settings.home) if settings.embedded else None
    started_here = embedded is not None and not embedded.status().running
    if embedded is not None:
        console.print(f"embedded PostgreSQL running: {embedded.ensure_running()}")
    try:
        _run_on_database(settings, port, host)
    finally:
        if started_here and embedded is not None:  # a server this command started, it stops
            embedded.stop()
            console.print("embedded PostgreSQL stopped")


def _run_on_database(settings: Settings, port: int, host: str) -> None:
    for migration in migrate_database(settings):  # the owner's connection; the gateway and children act as aether_app
        console.print(f"applied {migration.filename}")
    settings = service_settings(settings)
    if settings.demo_content:
        episode = asyncio.run(_demo(settings))
        if episode:
            console.print(f"created the demo show and its first episode ({episode})")
    children = _children(settings)

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    console.print(f"Aether is up: http://{host}:{port}/ (API docs at /docs); Ctrl-C stops it", style="green")
    try:
        serve(settings, host, port)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop(children)
