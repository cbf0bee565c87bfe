"""Fixtures of the operations tests: an embedded server of the test's own (WAL archiving needs a whole
cluster, and backups copy one), and the environment to run `aether` against it."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from aether.config import Settings, load_settings
from aether.db import migrate
from aether.db.embedded import EmbeddedServer
from aether.db.pool import connect
from tests.ops.support import reopen
from tests.support import wait_for


@pytest.fixture
def embedded_home() -> Iterator[Path]:
    """AETHER_HOME with a running, migrated embedded server (archiving on); stopped and removed afterwards.

    It lives in a directory of its own under the system temp directory, not under pytest's: a pytest
    session starting meanwhile (other test runs on this machine) resets /tmp/pytest-of-<user> to mode
    0700, which would lock the server's user out of its WAL archive in the middle of a test.
    """
    base = Path(tempfile.mkdtemp(prefix="aether-ops-test-"))
    base.chmod(0o711)
    home = base / "home"
    server = EmbeddedServer(home)
    try:
        url = server.ensure_running()
        with connect(url, load_settings(home=home), autocommit=True) as conn:
            migrate.migrate(conn)
        yield home
    finally:
        reopen(home)
        server.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def embedded_settings(embedded_home: Path) -> Settings:
    return load_settings(home=embedded_home, pool_min_size=1, pool_max_size=4)


@pytest.fixture
def embedded_env(embedded_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AETHER_")}
    env["AETHER_HOME"] = str(embedded_home)
    return env


@pytest.fixture
def gateway_url(settings: Settings) -> Iterator[str]:
    """The real gateway (aether.gateway.app.create_app, which includes the operations routes) served by
    uvicorn on a free port of 127.0.0.1."""
    from aether.gateway.app import create_app
    from aether.run.hooks import HOOKS

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(settings, hooks=HOOKS),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=60, what="the gateway to start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)
