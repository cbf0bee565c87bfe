"""`aether agents|credentials|audit` run as a user would: values only on stdin, only masked output."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.support import run_aether

SECRET = "sk-cli-0123456789-secret-abcd"


def _ok(args: list[str], env: dict[str, str], *, input: str | None = None) -> str:
    result = run_aether(args, env, input=input)
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout and SECRET not in result.stderr
    return result.stdout


@pytest.mark.slow
def test_agents_credentials_and_audit_from_the_command_line(cli_env: dict[str, str], aether_home: Path) -> None:
    _ok(["agents", "create", "writer", "--type", "pswa", "--config", '{"target_minutes": 5}'], cli_env)
    bad = run_aether(["agents", "create", "w2", "--type", "pswa", "--config", '{"target_minutes": 0}'], cli_env)
    assert bad.returncode == 1 and "config.target_minutes" in bad.stderr
    _ok(["agents", "enable", "writer"], cli_env)
    agents = json.loads(_ok(["agents", "list", "--json"], cli_env))
    assert [(a["name"], a["status"], a["config"]) for a in agents] == [("writer", "active", {"target_minutes": 5.0})]
    shown = json.loads(_ok(["agents", "show", "writer", "--json"], cli_env))
    assert shown["effective_config"]["target_minutes"] == 5.0 and shown["effective_config"]["writer"] is None
    assert "AETHER_SCRIPT_WRITER" in shown["settings"] and "AETHER_TDA_CONCURRENCY" not in shown["settings"]

    out = _ok(
        ["credentials", "add", "--agent", "writer", "--platform", "openai", "--key", "api_key"],
        cli_env,
        input=SECRET + "\n",
    )
    assert "sk-...abcd" in out
    key_file = aether_home / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = run_aether(
        ["credentials", "add", "--agent", "writer", "--platform", "openai", "--key", "api_key"], cli_env, input="other"
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    empty = run_aether(["credentials", "add", "--platform", "openai", "--key", "x"], cli_env, input="")
    assert empty.returncode == 1 and "standard input" in empty.stderr

    listed = json.loads(_ok(["credentials", "list", "--json"], cli_env))
    assert [(c["agent"], c["value"]) for c in listed] == [("writer", "sk-...abcd")]
    rotated = _ok(["credentials", "rotate-key", "--batch-size", "10"], cli_env)
    assert "re-sealed 1 credentials" in rotated
    ring = json.loads(_ok(["credentials", "keys", "--json"], cli_env))
    assert [k["status"] for k in ring["data_keys"]] == ["retired", "active"]
    _ok(["credentials", "remove", "--agent", "writer", "--platform", "openai", "--key", "api_key"], cli_env)
    assert json.loads(_ok(["credentials", "list", "--json"], cli_env)) == []

    entries = json.loads(
        _ok(["audit", "--table", "credentials", "--actor", "cli:*", "--since", "1h", "--json"], cli_env)
    )
    assert [e["action"] for e in entries] == ["delete", "update", "insert"]
    assert all(e["actor"].startswith("cli:") for e in entries)
    table = _ok(["audit", "--table", "agents"], cli_env)
    assert "status" in table and "insert" in table
    bad_since = run_aether(["audit", "--since", "last tuesday"], cli_env)
    assert bad_since.returncode == 1 and "since" in bad_since.stderr
