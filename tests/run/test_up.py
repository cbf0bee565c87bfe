"""`aether up`: the whole system (migrations, worker, scheduler, gateway) and the demo show on a new,
empty installation."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from aether.db.embedded import EmbeddedServer
from aether.db.pool import Database
from tests.queue.helpers import until
from tests.support import answers, free_port, start_aether, wait_for


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
