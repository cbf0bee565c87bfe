"""End to end: a fan-out/fan-in workflow runs through real `aether worker` processes; a worker killed
in the middle of a step is replaced and the workflow resumes with its side effect done exactly once;
cancel and retry work through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from aether.db.pool import Database
from aether.orchestrator import Step, WorkflowDefinition, register_workflow, start_workflow, unregister_workflow
from tests.orchestrator.handlers_for_tests import TABLES_SQL
from tests.queue.helpers import until
from tests.support import run_aether

pytestmark = pytest.mark.slow

NAME = "wftest_episode"
ROOT = Path(__file__).resolve().parents[2]


def definition() -> WorkflowDefinition:
    return WorkflowDefinition(
        NAME,
        1,
        steps=[
            Step("topic", "wftest.topic", "wftest", inputs={"query": "$params.query"}),
            Step("script", "wftest.script", "wftest", after=["topic"], inputs={"title": "$steps.topic.title"}),
            Step(
                "cover",
                "wftest.cover",
                "wftest",
                after=["topic"],
                inputs={"title": "$steps.topic.title", "hang": "$params.hang"},
            ),
            Step(
                "voice",
                "wftest.voice",
                "wftest",
                after=["script", "cover"],
                inputs={"text": "$steps.script.text", "cover": "$steps.cover.uri", "needs_flag": "$params.needs_flag"},
            ),
        ],
    )


@pytest.fixture(autouse=True)
async def episode(db: Database) -> AsyncIterator[None]:
    await db.execute(TABLES_SQL)
    register_workflow(definition())
    yield
    unregister_workflow(NAME)


class Workers:
    """Worker subprocesses started as a user would (`aether worker`), stopped at the end of the test."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = {
            **env,
            "AETHER_QUEUE_LEASE_S": "2",
            "AETHER_QUEUE_RESCUE_INTERVAL_S": "0.3",
            "AETHER_QUEUE_POLL_INTERVAL_S": "0.2",
            "AETHER_QUEUE_RETRY_BASE_S": "0.1",
            "AETHER_WORKER_CANCEL_GRACE_S": "0.5",
            "AETHER_WORKER_SHUTDOWN_TIMEOUT_S": "2",
            "AETHER_WORKER_CPU_POOL": "thread",
            "AETHER_POOL_MIN_SIZE": "1",
            "AETHER_POOL_MAX_SIZE": "4",
        }
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aether.cli",
                "worker",
                "--agents",
                "wftest",
                "--concurrency",
                "4",
                "--handlers",
                "tests.orchestrator.handlers_for_tests",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("worker-*.log")))


@pytest.fixture
def workers(cli_env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    group = Workers(cli_env, tmp_path)
    yield group
    group.stop()


async def start(db: Database, **params: Any) -> str:
    async with db.connection() as conn:
        return await start_workflow(conn, NAME, {"query": "tides", "hang": None, "needs_flag": False, **params})


async def status_of(db: Database, wid: str) -> str:
    row = await db.fetch_one("SELECT status FROM workflow_instances WHERE workflow_id = %s", (wid,))
    assert row is not None
    return str(row["status"])


async def wait_status(db: Database, wid: str, status: str, workers: Workers, timeout: float = 60) -> None:
    async def reached() -> bool:
        return await status_of(db, wid) == status

    try:
        await until(reached, timeout=timeout, what=f"workflow {wid} to be {status}")
    except AssertionError:
        print(workers.output())
        raise


async def runs(db: Database, wid: str) -> dict[str, int]:
    rows = await db.fetch_all(
        "SELECT step, count(*) AS n FROM wftest_events WHERE workflow_id = %s AND what = 'ran' GROUP BY step",
        (wid,),
    )
    return {r["step"]: int(r["n"]) for r in rows}


async def test_fan_out_fan_in_runs_to_completion_on_two_workers(
    db: Database, workers: Workers, cli_env: dict[str, str]
) -> None:
    workers.start()
    workers.start()
    wids = [await start(db, query=f"q{i}") for i in range(3)]
    for wid in wids:
        await wait_status(db, wid, "completed", workers)
        assert await runs(db, wid) == {"topic": 1, "script": 1, "cover": 1, "voice": 1}
    shown = run_aether(["workflows", "show", wids[0], "--json"], cli_env)
    assert shown.returncode == 0, shown.stderr
    state = json.loads(shown.stdout)
    assert state["status"] == "completed"
    assert [s["step_name"] for s in state["steps"]] == ["topic", "script", "cover", "voice"]
    assert all(s["status"] == "completed" and s["attempts"] == 1 and s["completed_at"] for s in state["steps"])
    voice = state["steps"][3]["output_summary"]
    assert voice["script"] == "Welcome. Today: All about q0." and voice["cover"].startswith("file:///covers/")


async def test_a_worker_killed_mid_step_is_replaced_and_the_effect_happens_once(db: Database, workers: Workers) -> None:
    doomed = workers.start()
    wid = await start(db, hang="first")
    await until(
        lambda: db.fetch_one("SELECT 1 FROM wftest_events WHERE workflow_id = %s AND what = 'hanging'", (wid,)),
        timeout=60,
        what="the cover step to hang",
    )
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    workers.start()
    await wait_status(db, wid, "completed", workers)
    effects = await db.fetch_all("SELECT * FROM wftest_effects WHERE workflow_id = %s", (wid,))
    assert len(effects) == 1  # the rescued attempt replayed the recorded side effect
    cover = await db.fetch_one(
        "SELECT attempts, output_summary FROM task_instances WHERE workflow_id = %s AND step_name = 'cover'", (wid,)
    )
    assert cover is not None and cover["attempts"] == 2
    assert cover["output_summary"]["effect_id"] == effects[0]["id"]
    assert await runs(db, wid) == {"topic": 1, "script": 1, "cover": 2, "voice": 1}


async def test_retry_after_a_failed_step_and_cancel_through_the_cli(
    db: Database, workers: Workers, cli_env: dict[str, str]
) -> None:
    workers.start()
    wid = await start(db, needs_flag=True)
    await wait_status(db, wid, "failed", workers)
    shown = run_aether(["workflows", "show", wid], cli_env)
    assert shown.returncode == 0, shown.stderr
    assert "voice engine is not installed" in shown.stdout and "failed" in shown.stdout
    await db.execute("INSERT INTO wftest_flags (name) VALUES ('voice-ready')")
    retried = run_aether(["workflows", "retry", wid[:8]], cli_env)
    assert retried.returncode == 0, retried.stderr
    assert "voice" in retried.stdout
    await wait_status(db, wid, "completed", workers)
    assert await runs(db, wid) == {"topic": 1, "script": 1, "cover": 1, "voice": 2}

    stuck = await start(db, hang="always")
    await until(
        lambda: db.fetch_one("SELECT 1 FROM wftest_events WHERE workflow_id = %s AND what = 'hanging'", (stuck,)),
        timeout=60,
        what="the cover step to hang",
    )
    await until(
        lambda: db.fetch_one(
            "SELECT 1 FROM task_instances WHERE workflow_id = %s AND step_name = 'script' AND status = 'completed'",
            (stuck,),
        ),
        timeout=60,
        what="the script step to complete",
    )
    cancelled = run_aether(["workflows", "cancel", stuck], cli_env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert await status_of(db, stuck) == "cancelled"
    await until(
        lambda: db.fetch_one(
            "SELECT 1 FROM tasks WHERE workflow_id = %s AND step_name = 'cover' AND status = 'cancelled'", (stuck,)
        ),
        timeout=30,
        what="the running cover task to stop",
    )
    steps = {
        r["step_name"]: r["status"]
        for r in await db.fetch_all("SELECT step_name, status FROM task_instances WHERE workflow_id = %s", (stuck,))
    }
    assert steps == {"topic": "completed", "script": "completed", "cover": "cancelled", "voice": "cancelled"}
    again = run_aether(["workflows", "cancel", stuck], cli_env)
    assert again.returncode == 1 and "only running or failed workflows can be cancelled" in again.stderr
