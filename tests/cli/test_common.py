"""The first run of the CLI: every command that needs the schema makes it current first. On a fresh
AETHER_HOME (the embedded server, never migrated) `aether topics discover` just works; against an external
database with pending migrations each such command stops with one line saying to run `aether db migrate`."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from aether.db.embedded import EmbeddedServer
from tests.agents.feed_server import FeedServer
from tests.support import run_aether

pytestmark = pytest.mark.slow

NOT_CURRENT = "aether: error: the database schema is not current: run `aether db migrate` first"
# every command group's commands that read or write the schema (one each where they share the path);
# `status`, `backup` and `db` deliberately work on a database that is behind: they report on it or save it
SCHEMA_COMMANDS = [
    ["topics", "list"],
    ["sources", "list"],
    ["shows", "list"],
    ["workflows", "list"],
    ["tasks", "list"],
    ["agents", "list"],
    ["credentials", "list"],
    ["credentials", "review"],
    ["audit"],
    ["maintenance", "list"],
    ["maintenance", "run", "analyze"],
    ["script", "write", "--topic", "anything at all"],
]


def _bare_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AETHER_")}
    return env | settings


def test_topics_discover_on_a_fresh_home_needs_no_migrate(feed_server: FeedServer) -> None:
    # outside pytest's numbered temp dirs, which another pytest run may make unreadable to the server's user
    home = Path(tempfile.mkdtemp(prefix="aether-test-fresh-home-"))
    env = _bare_env(AETHER_HOME=str(home), AETHER_FETCH_ALLOW_PRIVATE="true", AETHER_TDA_HOST_INTERVAL="0")
    try:
        found = run_aether(["topics", "discover", "--feed", feed_server.url("/rss2.xml"), "--json"], env, timeout=300)
        assert found.returncode == 0, found.stderr
        assert "Traceback" not in found.stderr
        result = json.loads(found.stdout)
        assert result["topics"] and [s["status"] for s in result["sources"]] == ["ok"]
        status = run_aether(["db", "status", "--json"], env)
        assert status.returncode == 0, status.stderr
        assert {m["status"] for m in json.loads(status.stdout)["migrations"]} == {"applied"}
    finally:
        EmbeddedServer(home).stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize("args", SCHEMA_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_an_external_database_behind_gets_one_line(args: list[str], empty_database_url: str, tmp_path: Path) -> None:
    env = _bare_env(AETHER_HOME=str(tmp_path / "home"), AETHER_DATABASE_URL=empty_database_url)
    result = run_aether(args, env)
    assert result.returncode == 1, (args, result.stdout, result.stderr)
    assert result.stderr.strip() == NOT_CURRENT, (args, result.stderr)


def test_an_external_server_behind_gets_one_line(external_dsn: str, tmp_path: Path, feed_server: FeedServer) -> None:
    """The same on a real external PostgreSQL (AETHER_TEST_EXTERNAL_DSN), with the issue's own command."""
    env = _bare_env(AETHER_HOME=str(tmp_path / "home"), AETHER_DATABASE_URL=external_dsn)
    result = run_aether(["topics", "discover", "--feed", feed_server.url("/rss2.xml")], env)
    assert result.returncode == 1 and result.stderr.strip() == NOT_CURRENT, result.stderr
    assert run_aether(["db", "migrate"], env, timeout=300).returncode == 0
    env["AETHER_FETCH_ALLOW_PRIVATE"] = "true"
    assert run_aether(["topics", "discover", "--feed", feed_server.url("/rss2.xml")], env).returncode == 0
