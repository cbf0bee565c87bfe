"""The `aether` command as a user runs it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support import run_aether


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AETHER_")}
    env.update(extra)
    return env


def test_every_command_has_help() -> None:
    top = run_aether(["--help"], _clean_env())
    assert top.returncode == 0, top.stderr
    assert "db" in top.stdout and "config" in top.stdout
    for args in (
        ["db", "--help"],
        ["db", "migrate", "--help"],
        ["db", "status", "--help"],
        ["config", "--help"],
    ):
        result = run_aether(args, _clean_env())
        assert result.returncode == 0 and "Usage" in result.stdout, args


def test_config_masks_passwords(tmp_path: Path) -> None:
    env = _clean_env(AETHER_DATABASE_URL="postgresql://bob:hunter2@db.example:5432/aether", AETHER_HOME=str(tmp_path))
    result = run_aether(["config", "--json"], env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["AETHER_DATABASE_URL"] == "postgresql://bob:****@db.example:5432/aether"
    assert report["AETHER_POOL_MAX_SIZE"] == 20
    assert "hunter2" not in result.stdout + result.stderr


def test_malformed_database_url_exits_non_zero_with_the_rule() -> None:
    result = run_aether(["db", "status"], _clean_env(AETHER_DATABASE_URL="mysql://root@localhost/x"))
    assert result.returncode == 1
    assert "AETHER_DATABASE_URL" in result.stderr and "postgresql://" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_server_is_one_line_naming_host_and_database() -> None:
    env = _clean_env(AETHER_DATABASE_URL="postgresql://bob:hunter2@127.0.0.1:1/aetherdb")
    result = run_aether(["db", "migrate"], env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "127.0.0.1:1/aetherdb as bob" in lines[0]
    assert "hunter2" not in result.stderr


def test_unwritable_home_exits_non_zero(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_aether(["db", "start"], _clean_env(AETHER_HOME=str(blocker / "home")))
    assert result.returncode == 1
    assert "AETHER_HOME" in result.stderr and "not writable" in result.stderr


def test_migrate_and_status_against_a_database(cli_env: dict[str, str]) -> None:
    migrate = run_aether(["db", "migrate"], cli_env)
    assert migrate.returncode == 0, migrate.stderr
    status = run_aether(["db", "status", "--json"], cli_env)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["server"]["kind"] == "external"
    assert report["migrations"] and all(m["status"] == "applied" for m in report["migrations"])
