"""Maintenance jobs: each runs and is recorded with its duration and outcome; pruning removes exactly what
is past retention; one run of a job at a time; the schedule the scheduler uses matches the jobs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psycopg
import pytest

from aether.config import Settings
from aether.errors import PermanentError
from aether.ops.maintenance import JOBS, run_job
from aether.ops.tasks import run_maintenance
from aether.queue.tasks import TaskContext
from tests.support import run_aether

ROUTINE = [name for name, job in JOBS.items() if job.default]


def _one(url: str, query: str, params: object = None) -> object:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
        assert row is not None
        return row[0]


def test_every_routine_job_runs_and_is_recorded(cli_env: dict[str, str], database_url: str) -> None:
    result = run_aether(["maintenance", "run", "--json"], cli_env, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    runs = json.loads(result.stdout)
    assert [r["job"] for r in runs] == ROUTINE
    outcomes = {r["job"]: r["outcome"] for r in runs}
    assert outcomes.pop("rotate_logs") == "skipped"  # an external database's logs are not ours
    assert set(outcomes.values()) == {"succeeded"}, runs
    assert all(r["duration_ms"] is not None and r["finished_at"] for r in runs)
    rotate = next(r for r in runs if r["job"] == "rotate_logs")
    assert "external database" in rotate["detail"]["reason"]
    partitions = next(r for r in runs if r["job"] == "analytics_partitions")
    assert len(partitions["detail"]["ensured"]) == 4  # this month and the 3 ahead (AETHER_ANALYTICS_PARTITIONS_AHEAD)

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT job, outcome, duration_ms IS NOT NULL, finished_at IS NOT NULL FROM maintenance_runs"
        )
        recorded = {r[0]: r[1:] for r in rows.fetchall()}
    assert set(recorded) == set(ROUTINE)
    assert all(r[1] and r[2] for r in recorded.values())

    listed = run_aether(["maintenance", "list", "--json"], cli_env)
    assert listed.returncode == 0, listed.stderr
    jobs = {j["job"]: j for j in json.loads(listed.stdout)}
    assert set(jobs) == set(JOBS)
    assert jobs["reindex"]["schedule"] == "35 3 * * 0" and jobs["reindex"]["last_run"]["outcome"] == "succeeded"
    assert jobs["backup"]["last_run"] is None


def test_unknown_job_is_refused_by_name(cli_env: dict[str, str]) -> None:
    result = run_aether(["maintenance", "run", "defrag"], cli_env)
    assert result.returncode == 1
    assert "JOB must be one of" in result.stderr and "prune_tasks" in result.stderr


def test_pruning_removes_exactly_what_is_past_retention(settings: Settings, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        old = "LOCALTIMESTAMP - INTERVAL '400 days'"
        conn.execute(
            "INSERT INTO tasks (task_type, agent_name, status, completed_at) VALUES "
            f"('tda.discover', 'tda', 'completed', {old}), ('tda.discover', 'tda', 'failed', {old}), "
            "('tda.discover', 'tda', 'completed', LOCALTIMESTAMP - INTERVAL '1 day'), "
            f"('tda.discover', 'tda', 'pending', NULL)"
        )
        done = conn.execute(
            "INSERT INTO workflow_instances (definition_name, status, completed_at) "
            f"VALUES ('episode', 'completed', {old}) RETURNING workflow_id"
        ).fetchone()
        running = conn.execute(
            "INSERT INTO workflow_instances (definition_name, status, created_at) "
            f"VALUES ('episode', 'running', {old}) RETURNING workflow_id"
        ).fetchone()
        assert done is not None and running is not None
        for workflow_id in (done[0], running[0]):
            conn.execute(
                "INSERT INTO task_instances (workflow_id, step_name, agent_name, task_type) "
                "VALUES (%s, 'discover', 'tda', 'tda.discover')",
                (workflow_id,),
            )
            conn.execute(
                "INSERT INTO tasks (task_type, agent_name, status, completed_at, workflow_id) "
                f"VALUES ('tda.discover', 'tda', 'completed', {old}, %s)",
                (workflow_id,),
            )
        conn.execute(
            "INSERT INTO idempotency_keys (idempotency_key, task_name, status, expires_at) VALUES "
            "('gone', 'x', 'completed', LOCALTIMESTAMP - INTERVAL '1 hour'), "
            "('kept', 'x', 'completed', LOCALTIMESTAMP + INTERVAL '1 hour')"
        )
        user = conn.execute(
            "INSERT INTO users (email, password_hash) VALUES ('a@example.org', 'x') RETURNING id"
        ).fetchone()
        assert user is not None
        conn.execute(
            "INSERT INTO user_sessions (user_id, token_hash, expires_at, revoked_at) VALUES "
            "(%(u)s, repeat('a', 64), LOCALTIMESTAMP - INTERVAL '1 minute', NULL), "
            "(%(u)s, repeat('b', 64), LOCALTIMESTAMP + INTERVAL '1 day', LOCALTIMESTAMP), "
            "(%(u)s, repeat('c', 64), LOCALTIMESTAMP + INTERVAL '1 day', NULL)",
            {"u": user[0]},
        )
        conn.execute(
            "INSERT INTO audit_log (occurred_at, actor, action, table_name, transaction_id) VALUES "
            f"({old}, 'system', 'insert', 'agents', 1), (LOCALTIMESTAMP, 'system', 'insert', 'agents', 2)"
        )

    jobs = ("prune_tasks", "prune_workflows", "prune_idempotency", "prune_sessions", "prune_audit")
    runs = {name: run_job(settings, name) for name in jobs}
    assert {n: r.outcome for n, r in runs.items()} == dict.fromkeys(runs, "succeeded")
    assert runs["prune_tasks"].detail["deleted"] == 3  # two alone, one of the finished workflow
    assert runs["prune_workflows"].detail["deleted"] == 1
    assert runs["prune_idempotency"].detail["deleted"] == 1
    assert runs["prune_sessions"].detail["deleted"] == 2
    assert runs["prune_audit"].detail["deleted"] == 1

    assert _one(database_url, "SELECT count(*) FROM tasks WHERE workflow_id IS NULL") == 2  # recent + pending
    assert _one(database_url, "SELECT count(*) FROM tasks WHERE workflow_id = %s", (running[0],)) == 1
    assert _one(database_url, "SELECT count(*) FROM tasks WHERE workflow_id = %s", (done[0],)) == 0
    assert _one(database_url, "SELECT count(*) FROM task_instances") == 1
    assert _one(database_url, "SELECT array_agg(idempotency_key) FROM idempotency_keys") == ["kept"]
    assert _one(database_url, "SELECT count(*) FROM user_sessions") == 1
    # the pruning of the audit log is itself audited
    pruned = _one(
        database_url,
        "SELECT changes FROM audit_log WHERE table_name = 'audit_log' AND action = 'delete' ORDER BY id DESC LIMIT 1",
    )
    assert isinstance(pruned, dict) and pruned["pruned"] == 1
    assert (
        _one(database_url, "SELECT count(*) FROM audit_log WHERE occurred_at < LOCALTIMESTAMP - INTERVAL '1 year'") == 0
    )


def test_one_run_at_a_time_and_a_dead_runner_is_taken_over(settings: Settings, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO maintenance_runs (job, host, pid) VALUES ('analyze', %s, %s)",
            (os.uname().nodename, os.getpid()),
        )
    busy = run_job(settings, "analyze")
    assert busy.outcome == "skipped" and "already running" in busy.detail["reason"]

    dead = 2**22 + 12345  # above the default pid_max: no such process
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE maintenance_runs SET pid = %s WHERE outcome = 'running'", (dead,))
    taken = run_job(settings, "analyze")
    assert taken.outcome == "succeeded"
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT outcome, error FROM maintenance_runs WHERE job = 'analyze' ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["failed", "skipped", "succeeded"]
    assert rows[0][1] is not None and "abandoned" in rows[0][1]


def test_partition_job_is_a_no_op_on_a_plain_analytics_table(settings: Settings, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE analytics RENAME TO analytics_partitioned")
        conn.execute("CREATE TABLE analytics (id SERIAL PRIMARY KEY, recorded_at TIMESTAMP)")
    run = run_job(settings, "analytics_partitions")
    assert run.outcome == "skipped" and "not a partitioned table" in run.detail["reason"]


def test_a_failing_job_is_recorded_as_failed(settings: Settings, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP FUNCTION aether_audit_prune(INTERVAL)")
    run = run_job(settings, "prune_audit")
    assert run.outcome == "failed" and run.error is not None and "aether_audit_prune" in run.error
    assert run.duration_ms is not None


def test_the_schedule_is_the_periodic_tasks_of_the_maintenance_agent(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT payload->>'job', cron, task_type, agent_name FROM periodic_tasks WHERE name LIKE 'ops.%'"
        ).fetchall()
    assert {r[0]: r[1] for r in rows} == {name: job.schedule for name, job in JOBS.items()}
    assert {(r[2], r[3]) for r in rows} == {("maintenance.run", "maintenance")}


async def test_the_maintenance_agent_runs_a_scheduled_job(settings: Settings, database_url: str) -> None:
    ctx = TaskContext(
        task_id=1, task_type="maintenance.run", agent="maintenance", attempt=1, settings=settings, db=None
    )  # type: ignore[arg-type]
    result = await run_maintenance(ctx, {"job": "vacuum"})
    assert result["outcome"] == "succeeded" and result["trigger"] == "schedule"
    with pytest.raises(PermanentError, match="JOB must be one of"):
        await run_maintenance(ctx, {"job": "nope"})


@pytest.mark.slow
def test_log_rotation_on_the_embedded_server(embedded_settings: Settings, embedded_home: Path) -> None:
    log_dir = embedded_home / "pgdata" / "log"
    stale = log_dir / "postgresql-2020-01-01.log"
    stale.write_text("old\n")
    old = time.time() - 30 * 86400
    os.utime(stale, (old, old))
    run = run_job(embedded_settings, "rotate_logs")
    assert run.outcome == "succeeded", run.error
    assert run.detail["removed"] == [stale.name]
    assert run.detail["current"] and (log_dir / run.detail["current"][0]).exists()
