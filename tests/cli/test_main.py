"""The `aether` command as a user runs it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from aether.config import SECTIONS
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


def test_config_keys_keep_the_order_of_the_sections(tmp_path: Path) -> None:
    expected = [f"AETHER_{name.upper()}" for section in SECTIONS for name in section.model_fields]
    plain = run_aether(["config", "--json"], _clean_env(AETHER_HOME=str(tmp_path)))
    assert plain.returncode == 0, plain.stderr
    assert list(json.loads(plain.stdout)) == expected
    # values set from the environment and the TOML file do not move their keys
    (tmp_path / "aether.toml").write_text("video_fps = 12\n")
    env = _clean_env(AETHER_HOME=str(tmp_path), AETHER_SMTP_FROM="x@example.org", AETHER_PORT="9001")
    configured = run_aether(["config", "--json"], env)
    assert configured.returncode == 0, configured.stderr
    report = json.loads(configured.stdout)
    assert list(report) == expected and (report["AETHER_VIDEO_FPS"], report["AETHER_PORT"]) == (12, 9001)
    # the text form prints the same names, under one heading per section, in the same order
    text = run_aether(["config"], env)
    assert text.returncode == 0, text.stderr
    lines = [line for line in text.stdout.splitlines() if line]
    assert [line[2:] for line in lines if line.startswith("# ")] == [section.heading for section in SECTIONS]
    assert [line.split()[0] for line in lines if not line.startswith("# ")] == expected


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
