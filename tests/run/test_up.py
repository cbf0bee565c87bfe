"""`aether up`: the whole system (migrations, worker, scheduler, gateway) and the demo show on a new,
empty installation."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from aether.db.embedded import EmbeddedServer
from aether.db.pool import Database
from tests.queue.helpers import until
from tests.support import answers, free_port, run_aether, start_aether, wait_for


@pytest.mark.slow
async def test_up_serves_the_demo_show_and_stops_cleanly(cli_env: dict[str, str], db: Database) -> None:
    port = free_port()
    env = {k: v for k, v in cli_env.items() if k != "AETHER_FETCH_ALLOW_PRIVATE"}  # `aether up` never needs it
    process = start_aether(["up", "--port", str(port)], env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:

        def home() -> str | None:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            except httpx.HTTPError:
                return None
            return r.text if r.status_code == 200 else None

        page = wait_for(home, timeout=90, what="aether up to serve the home page")
        assert "Aether Demo" in page
        assert 'type="application/rss+xml"' in page and "/shows/aether-demo/feed.xml" in page
        feed = httpx.get(f"http://127.0.0.1:{port}/shows/aether-demo/feed.xml", timeout=10)
        assert feed.status_code == 200 and "<podcast:guid>" in feed.text
        shows = await db.fetch_all("SELECT slug FROM shows")
        assert [s["slug"] for s in shows] == ["aether-demo"]
        workers = await until(
            lambda: db.fetch_all(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ),
            timeout=30,
            what="the worker and scheduler to connect",
        )
        assert workers
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    assert process.returncode in (0, 130), output
    assert "Traceback" not in output, output


@pytest.mark.slow
def test_up_stops_the_embedded_server_it_started_and_only_that(tmp_path: Path) -> None:
    """`make run` then Ctrl-C leaves nothing running; a server that was already running stays up."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AETHER_")}
    env |= {"AETHER_HOME": str(home), "AETHER_DEMO_CONTENT": "false"}
    server = EmbeddedServer(home)

    def up_then_ctrl_c() -> str:
        port = free_port()
        process = start_aether(["up", "--port", str(port)], env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: answers(f"http://127.0.0.1:{port}/readyz"), timeout=120, what="aether up to be ready")
            assert server.status().running
        finally:
            process.send_signal(signal.SIGINT)
            output = process.communicate(timeout=90)[0].decode()
        assert process.returncode in (0, 130), output
        assert "Traceback" not in output, output
        return output

    try:
        output = up_then_ctrl_c()  # nothing running before: `aether up` starts the server, and stops it
        assert "embedded PostgreSQL stopped" in output
        assert not server.status().running
        server.ensure_running()  # started by someone else: left running
        output = up_then_ctrl_c()
        assert "embedded PostgreSQL stopped" not in output
        assert server.status().running
    finally:
        server.stop()


@pytest.fixture
def own_home() -> Iterator[Path]:
    """An AETHER_HOME outside pytest's temporary root: every pytest session on this machine takes the
    other users' access to that root away again, and the embedded server's user needs to reach its data."""
    with tempfile.TemporaryDirectory(prefix="aether-up-") as parent:
        home = Path(parent) / "home"
        try:
            yield home
        finally:
            EmbeddedServer(home).stop(mode="immediate")


def _quiet_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AETHER_")}
    return env | {"AETHER_HOME": str(home), "AETHER_DEMO_CONTENT": "false"}


@pytest.mark.slow
def test_a_busy_port_fails_before_anything_starts(own_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_aether(["up", "--port", str(port)], _quiet_env(own_home), timeout=120)
    assert result.returncode == 1, result.stdout
    assert result.stderr.strip().splitlines() == [
        f"aether: error: port {port} on 127.0.0.1 is in use: stop what listens there or choose another with --port"
    ]
    assert "Aether is up" not in result.stdout and "Traceback" not in result.stderr
    assert not EmbeddedServer(own_home).status().running  # nothing was started


@pytest.mark.slow
def test_ctrl_c_in_the_terminal_stops_everything_quietly(own_home: Path) -> None:
    """A terminal's Ctrl-C sends SIGINT to the whole foreground process group. Pressed as soon as
    `aether up` says it is up and its worker and scheduler have started (they are still importing),
    nothing prints a traceback or a resource warning, and everything stops."""
    port = free_port()
    process = start_aether(
        ["up", "--port", str(port)],
        _quiet_env(own_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )
    assert process.stdout is not None
    output = b""
    try:
        while b"Aether is up" not in output and process.poll() is None:
            output += process.stdout.read1(4096)
        # the worker and the scheduler have started Python and are importing Aether; each runs in a
        # process group of its own, out of the reach of the terminal's Ctrl-C (aether up stops them)
        children = wait_for(lambda: found if len(found := _children_of(process.pid)) == 2 else None, timeout=30)
        assert all(os.getpgid(pid) == pid for pid in children), [(pid, os.getpgid(pid)) for pid in children]
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output += process.communicate(timeout=120)[0]
    text = output.decode()
    assert "Aether is up" in text
    assert process.returncode in (0, 130), text
    for noise in ("Traceback", "KeyboardInterrupt", "leaked semaphore", "resource_tracker"):
        assert noise not in text, (noise, text)
    assert "embedded PostgreSQL stopped" in text
    assert not EmbeddedServer(own_home).status().running
    wait_for(lambda: not _children_of(process.pid), timeout=60, what="the worker and the scheduler to exit")


def _children_of(pid: int) -> list[int]:
    """Processes still running `aether worker` or `aether scheduler` for the stopped `aether up`."""
    found = []
    for proc in psutil.process_iter(["ppid", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["ppid"] == pid and cmdline[-1:] in (["worker"], ["scheduler"]):
            found.append(proc.pid)
    return found
