"""`aether status`: the dashboard's figures as JSON, and one rendered frame."""

from __future__ import annotations

import json

import psycopg

from tests.support import run_aether


def test_status_json_and_once(cli_env: dict[str, str], database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tasks (task_type, agent_name, status) VALUES ('sca.snippets', 'sca', 'pending'), "
            "('sca.snippets', 'sca', 'pending')"
        )
        conn.execute("INSERT INTO workflow_instances (definition_name, status) VALUES ('episode', 'running')")
    result = run_aether(["status", "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["database"]["up"] is True and figures["database"]["size_bytes"] > 0
    assert figures["queue"] == [
        {"task_type": "sca.snippets", "agent": "sca", "depth": 2, "oldest_age_s": figures["queue"][0]["oldest_age_s"]}
    ]
    assert {"definition": "episode", "status": "running", "count": 1} in figures["workflows"]
    assert figures["backups"]["last_completed_at"] is None and figures["backups"]["last_completed_age_s"] is None
    assert figures["disk"]["free_bytes"] > 0
    assert figures["errors"] == {}
    assert any(c["application"] == "aether-status" for c in figures["database"]["connections"])

    frame = run_aether(["status", "--once"], {**cli_env, "COLUMNS": "160"})
    assert frame.returncode == 0, frame.stderr
    for heading in ("Aether status", "Queue (due tasks)", "sca.snippets", "Backups", "Maintenance"):
        assert heading in frame.stdout
    assert "Queries" not in frame.stdout  # the status process's own query timings are no user's business


def test_status_reports_a_database_that_is_down(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "AETHER_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing"}
    result = run_aether(["status", "--json"], env)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["database"]["up"] is False and "cannot connect" in figures["errors"]["database"]
