"""`aether workflows list|show|cancel|retry|resume`, run as a user would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from aether.config import Settings
from aether.db.pool import Database
from aether.orchestrator import register_workflow, start_workflow, unregister_workflow
from tests.orchestrator import sim
from tests.orchestrator.test_engine import NAME, TYPES, handler_result, podcast_definition
from tests.support import run_aether


@pytest.fixture(autouse=True)
def podcast() -> Iterator[None]:
    register_workflow(podcast_definition())
    yield
    unregister_workflow(NAME)


def db_for(settings: Settings) -> Database:
    assert settings.database_url is not None
    return Database(settings, settings.database_url.get_secret_value())


def start(settings: Settings, query: str) -> str:
    async def go() -> str:
        async with db_for(settings) as adb, adb.connection() as conn:
            return await start_workflow(conn, NAME, {"query": query})

    return asyncio.run(go())


def fail_cover(settings: Settings) -> None:
    """Run topic, then fail the cover step for good (script completes)."""

    async def go() -> None:
        async with db_for(settings) as adb:
            who = sim.claimer(TYPES)
            for row in await sim.claim(adb, who):
                await sim.complete(adb, who, row, handler_result(row))
            for row in await sim.claim(adb, who):
                if row["step_name"] == "cover":
                    await sim.fail(adb, who, row, "the image engine crashed: out of memory", final=True)
                else:
                    await sim.complete(adb, who, row, handler_result(row))

    asyncio.run(go())


def test_list_show_retry_and_cancel(settings: Settings, cli_env: dict[str, str]) -> None:
    first = start(settings, "tides")
    fail_cover(settings)
    second = start(settings, "moons")

    listed = run_aether(["workflows", "list", "--json"], cli_env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["workflow_id"], r["status"], r["steps_completed"], r["steps"]) for r in rows] == [
        (second, "running", 0, 4),
        (first, "failed", 2, 4),
    ]
    failed_only = json.loads(run_aether(["workflows", "list", "--status", "failed", "--json"], cli_env).stdout)
    assert [r["workflow_id"] for r in failed_only] == [first]
    page = json.loads(run_aether(["workflows", "list", "--limit", "1", "--offset", "1", "--json"], cli_env).stdout)
    assert [r["workflow_id"] for r in page] == [first]
    table = run_aether(["workflows", "list"], {**cli_env, "COLUMNS": "80"})
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, table.stdout
    # one line per workflow: short id, name, status with steps done, and the error cut to fit
    [failed_line] = [line for line in lines if line.startswith(first[:8])]
    assert first not in table.stdout
    for text in (NAME, "failed 2/4", "step 'cover' failed"):
        assert text in failed_line, (text, table.stdout)
    [running_line] = [line for line in lines if line.startswith(second[:8])]
    assert "running 0/4" in running_line, table.stdout

    shown = run_aether(["workflows", "show", first], cli_env)
    assert shown.returncode == 0, shown.stderr
    assert f"workflow {first}" in shown.stdout
    for text in ("topic", "└ script", "└ cover", "└ voice", "script, cover", "completed", "failed", "pending"):
        assert text in shown.stdout, text
    assert "step cover: the image engine crashed: out of memory" in shown.stdout
    assert "error: step 'cover' failed after 1 attempt(s)" in shown.stdout

    retried = run_aether(["workflows", "retry", first[:6], "--json"], cli_env)
    assert retried.returncode == 0, retried.stderr
    result = json.loads(retried.stdout)
    assert result["reset_steps"] == ["cover"] and list(result["enqueued"]) == ["cover"]
    state = json.loads(run_aether(["workflows", "show", first, "--json"], cli_env).stdout)
    assert state["status"] == "running"
    assert {s["step_name"]: s["status"] for s in state["steps"]} == {
        "topic": "completed",
        "script": "completed",
        "cover": "queued",
        "voice": "pending",
    }

    cancelled = run_aether(["workflows", "cancel", second], cli_env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"workflow {second} cancelled" in cancelled.stdout
    assert json.loads(run_aether(["workflows", "show", second, "--json"], cli_env).stdout)["status"] == "cancelled"

    resumed = run_aether(["workflows", "resume"], cli_env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"workflow {first}: enqueued nothing new; running" in resumed.stdout


def test_bad_input_is_a_clear_error(settings: Settings, cli_env: dict[str, str]) -> None:
    wid = start(settings, "tides")
    cases = [
        (["workflows", "show", "zz"], "workflow id must be a UUID or at least its first 4 hex digits"),
        (["workflows", "show", "00000000-0000-0000-0000-000000000000"], "no workflow 00000000-"),
        (["workflows", "show", "ffff"], "no workflow id starts with 'ffff'"),
        (["workflows", "list", "--status", "done"], "status must be one of pending, running"),
        (["workflows", "list", "--limit", "0"], "limit must be between 1 and 1000"),
        (["workflows", "retry", wid], "is running; only failed or cancelled workflows can be retried"),
    ]
    for args, message in cases:
        result = run_aether(args, cli_env)
        assert result.returncode == 1, (args, result.stdout)
        assert message in result.stderr, (args, result.stderr)
