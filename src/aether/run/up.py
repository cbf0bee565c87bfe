"""`aether up`: the whole system on one machine. The database (embedded unless AETHER_DATABASE_URL),
migrations, demo content on an empty installation, a worker and the scheduler as child processes, and
the gateway in this process on http://127.0.0.1:8000. Ctrl-C (or SIGTERM) stops everything, the
embedded PostgreSQL too when this command started it."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
from types import FrameType

from rich.console import Console

from aether.config import Settings
from aether.db.connect import migrate_database, open_database
from aether.db.embedded import EmbeddedServer
from aether.errors import AetherError
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
    # Each child in a process group of its own: a terminal's Ctrl-C reaches only this process, which
    # stops them with SIGTERM (a Ctrl-C while they still import would end each with a traceback).
    return [subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, process_group=0) for cmd in commands]


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


def check_port_free(host: str, port: int) -> None:
    """Refuse, in one line, a port that something already listens on (before anything starts)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise AetherError(
                    f"port {port} on {host} is in use: stop what listens there or choose another with --port",
                    field="port",
                ) from None
            raise AetherError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="port") from None


def run(settings: Settings, port: int, host: str) -> None:
    check_port_free(host, port)
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

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    children: list[subprocess.Popen[bytes]] = []
    try:  # a Ctrl-C at any point from here on stops the children this command started
        children = _children(settings)
        console.print(f"Aether is up: http://{host}:{port}/ (API docs at /docs); Ctrl-C stops it", style="green")
        serve(settings, host, port)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop(children)
