from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from aether.db.pool import Database
from aether.errors import Conflict, NotFound, ValidationFailed
from aether.orchestrator import (
    HOOKS,
    Step,
    WorkflowDefinition,
    cancel_workflow,
    get_workflow_state,
    register_workflow,
    resume_workflow,
    retry_workflow,
    start_workflow,
    unregister_workflow,
)
from aether.queue import cancel
from aether.queue.lifecycle import TaskRow
from aether.queue.tasks import NO_HOOKS
from tests.orchestrator import sim

NAME = "t_engine_podcast"
TYPES = ["t.topic", "t.script", "t.cover", "t.voice"]


def podcast_definition(name: str = NAME) -> WorkflowDefinition:
    return WorkflowDefinition(
        name,
        1,
        steps=[
            Step("topic", "t.topic", "tda", inputs={"query": "$params.query", "lang": "en"}),
            Step("script", "t.script", "pswa", after=["topic"], inputs={"title": "$steps.topic.title"}),
            Step("cover", "t.cover", "iga", after=["topic"], inputs={"title": "$steps.topic.title"}, max_attempts=2),
            Step(
                "voice",
                "t.voice",
                "vfa",
                after=["script", "cover"],
                inputs={"text": "$steps.script.text", "art": "$steps.cover.uri", "topic": "$steps.topic"},
            ),
        ],
    )


@pytest.fixture(autouse=True)
def podcast() -> Iterator[WorkflowDefinition]:
    defn = register_workflow(podcast_definition())
    yield defn
    unregister_workflow(NAME)


def handler_result(row: TaskRow) -> dict[str, Any]:
    """What each simulated agent returns for its payload."""
    payload = row["payload"]
    match row["task_type"]:
        case "t.topic":
            return {"title": f"About {payload['query']}", "lang": payload["lang"]}
        case "t.script":
            return {"text": f"A script on {payload['title']}"}
        case "t.cover":
            return {"uri": f"file:///covers/{row['id']}.png"}
        case "t.voice":
            return {"audio": "file:///ep.mp3", "heard": payload["text"], "art": payload["art"]}
    raise AssertionError(row["task_type"])


async def start(adb: Database, params: dict[str, Any] | None = None) -> str:
    async with adb.connection() as conn:
        return await start_workflow(conn, NAME, params or {"query": "rust"}, trigger_event_type="cli")


async def test_start_creates_the_workflow_steps_and_root_task_in_one_go(adb: Database) -> None:
    wid = await start(adb)
    wf = await sim.workflow_row(adb, wid)
    assert (wf["status"], wf["definition_name"], wf["definition_version"]) == ("running", NAME, 1)
    assert wf["params"] == {"query": "rust"} and wf["trigger_event_type"] == "cli" and wf["started_at"]
    steps = await sim.step_rows(adb, wid)
    assert {name: s["status"] for name, s in steps.items()} == {
        "topic": "queued",
        "script": "pending",
        "cover": "pending",
        "voice": "pending",
    }
    assert steps["voice"]["depends_on"] == ["script", "cover"]
    tasks = await sim.tasks_of(adb, wid)
    assert len(tasks) == 1
    task = tasks[0]
    assert (task["task_type"], task["agent_name"], task["step_name"], task["status"]) == (
        "t.topic",
        "tda",
        "topic",
        "pending",
    )
    assert task["payload"] == {"query": "rust", "lang": "en"}
    assert steps["topic"]["task_id"] == task["id"] and steps["topic"]["input_params"] == task["payload"]


async def test_fan_out_and_fan_in_run_to_completion(adb: Database) -> None:
    wid = await start(adb)
    who = sim.claimer(TYPES)
    [topic] = await sim.claim(adb, who)
    assert await sim.complete(adb, who, topic, handler_result(topic))
    steps = await sim.step_rows(adb, wid)
    assert (steps["script"]["status"], steps["cover"]["status"], steps["voice"]["status"]) == (
        "queued",
        "queued",
        "pending",
    )
    assert steps["script"]["input_params"] == {"title": "About rust"}
    fanned = await sim.claim(adb, who)
    assert sorted(r["step_name"] for r in fanned) == ["cover", "script"]
    script = next(r for r in fanned if r["step_name"] == "script")
    cover = next(r for r in fanned if r["step_name"] == "cover")
    await sim.complete(adb, who, script, handler_result(script))
    assert (await sim.step_rows(adb, wid))["voice"]["status"] == "pending"  # still waits for cover
    await sim.complete(adb, who, cover, handler_result(cover))
    [voice] = await sim.claim(adb, who)
    assert voice["payload"] == {
        "text": "A script on About rust",
        "art": f"file:///covers/{cover['id']}.png",
        "topic": {"title": "About rust", "lang": "en"},
    }
    await sim.complete(adb, who, voice, handler_result(voice))
    wf = await sim.workflow_row(adb, wid)
    assert wf["status"] == "completed" and wf["completed_at"] is not None
    assert set(wf["context_data"]["steps"]) == {"topic", "script", "cover", "voice"}
    assert wf["context_data"]["steps"]["voice"]["heard"] == "A script on About rust"
    steps = await sim.step_rows(adb, wid)
    assert all(s["status"] == "completed" and s["attempts"] == 1 and s["started_at"] for s in steps.values())
    assert len(await sim.tasks_of(adb, wid)) == 4
    async with adb.connection() as conn:
        state = await get_workflow_state(conn, wid)
    assert [s["step_name"] for s in state["steps"]] == ["topic", "script", "cover", "voice"]


async def test_bad_params_change_nothing(adb: Database) -> None:
    async with adb.connection() as conn:
        with pytest.raises(ValidationFailed, match="needs parameter 'query'") as err:
            await start_workflow(conn, NAME, {"q": "typo"})
        assert err.value.field == "params.query"
        with pytest.raises(ValidationFailed, match="params must be a JSON object"):
            await start_workflow(conn, NAME, ["x"])  # type: ignore[arg-type]
        with pytest.raises(NotFound, match="no workflow named 'nope'"):
            await start_workflow(conn, "nope", {})
    assert await adb.fetch_one("SELECT count(*) AS n FROM workflow_instances") == {"n": 0}
    assert await adb.fetch_one("SELECT count(*) AS n FROM tasks") == {"n": 0}


async def test_start_rolls_back_with_the_callers_transaction(adb: Database) -> None:
    with pytest.raises(RuntimeError, match="caller changed its mind"):
        async with adb.transaction() as conn:
            await start_workflow(conn, NAME, {"query": "x"})
            raise RuntimeError("caller changed its mind")
    assert await adb.fetch_one("SELECT count(*) AS n FROM workflow_instances") == {"n": 0}
    assert await adb.fetch_one("SELECT count(*) AS n FROM tasks") == {"n": 0}


async def test_a_retried_attempt_keeps_the_step_queued_with_its_error(adb: Database) -> None:
    wid = await start(adb)
    who = sim.claimer(TYPES)
    [topic] = await sim.claim(adb, who)
    await sim.fail(adb, who, topic, "feed timed out", final=False)
    step = (await sim.step_rows(adb, wid))["topic"]
    assert step["status"] == "queued"
    assert step["error_details"]["message"] == "feed timed out" and step["error_details"]["final"] is False
    assert (await sim.workflow_row(adb, wid))["status"] == "running"
    [again] = await sim.claim(adb, who)
    assert again["id"] == topic["id"] and again["attempts"] == 2
    await sim.complete(adb, who, again, handler_result(again))
    step = (await sim.step_rows(adb, wid))["topic"]
    assert step["status"] == "completed" and step["attempts"] == 2


async def test_final_failure_then_retry_redoes_only_the_failed_step(adb: Database) -> None:
    wid = await start(adb)
    who = sim.claimer(TYPES)
    [topic] = await sim.claim(adb, who)
    await sim.complete(adb, who, topic, handler_result(topic))
    fanned = {r["step_name"]: r for r in await sim.claim(adb, who)}
    await sim.fail(adb, who, fanned["cover"], "image API said 500", final=True)
    wf = await sim.workflow_row(adb, wid)
    assert wf["status"] == "failed"
    assert "step 'cover' failed after 1 attempt(s): image API said 500" in wf["error_message"]
    # the sibling that was already running finishes and is kept; nothing new is enqueued
    await sim.complete(adb, who, fanned["script"], handler_result(fanned["script"]))
    steps = await sim.step_rows(adb, wid)
    assert {n: s["status"] for n, s in steps.items()} == {
        "topic": "completed",
        "script": "completed",
        "cover": "failed",
        "voice": "pending",
    }
    assert await sim.claim(adb, who) == []
    async with adb.connection() as conn:
        result = await retry_workflow(conn, wid)
    assert result.reset_steps == ["cover"] and list(result.enqueued) == ["cover"]
    assert (await sim.workflow_row(adb, wid))["status"] == "running"
    ran = await sim.run_all(adb, who, handler_result)
    assert ran == 2  # cover again, then voice
    wf = await sim.workflow_row(adb, wid)
    assert wf["status"] == "completed" and wf["error_message"] is None
    per_step: dict[str, int] = {}
    for task in await sim.tasks_of(adb, wid):
        per_step[task["step_name"]] = per_step.get(task["step_name"], 0) + 1
    assert per_step == {"topic": 1, "script": 1, "cover": 2, "voice": 1}
    async with adb.connection() as conn:
        with pytest.raises(Conflict, match="only failed or cancelled workflows can be retried"):
            await retry_workflow(conn, wid)


async def test_cancel_stops_pending_and_running_tasks(adb: Database) -> None:
    wid = await start(adb)
    who = sim.claimer(TYPES)
    [topic] = await sim.claim(adb, who)
    await sim.complete(adb, who, topic, handler_result(topic))
    [running] = await sim.claim(adb, sim.claimer(["t.script"]))  # script runs, cover still waits
    async with adb.connection() as conn:
        result = await cancel_workflow(conn, wid, hooks=HOOKS)
    assert sorted(result.cancelled_steps) == ["cover", "script", "voice"]
    assert len(result.cancelled_tasks) == 2
    wf = await sim.workflow_row(adb, wid)
    assert wf["status"] == "cancelled" and wf["error_message"] == "cancelled by user"
    tasks = {t["step_name"]: t for t in await sim.tasks_of(adb, wid)}
    assert tasks["cover"]["status"] == "cancelled"
    assert tasks["script"]["status"] == "in_progress" and tasks["script"]["cancel_requested"] is True
    assert {n: s["status"] for n, s in (await sim.step_rows(adb, wid)).items()} == {
        "topic": "completed",
        "script": "cancelled",
        "cover": "cancelled",
        "voice": "cancelled",
    }
    async with adb.connection() as conn:
        with pytest.raises(Conflict, match="only running or failed workflows can be cancelled"):
            await cancel_workflow(conn, wid, hooks=HOOKS)
    # the running handler finished anyway: its output is kept, so a retry does not redo it
    await sim.complete(adb, who, running, handler_result(running))
    assert (await sim.step_rows(adb, wid))["script"]["status"] == "completed"
    assert (await sim.workflow_row(adb, wid))["status"] == "cancelled"
    async with adb.connection() as conn:
        again = await retry_workflow(conn, wid)
    assert sorted(again.reset_steps) == ["cover", "voice"] and list(again.enqueued) == ["cover"]
    await sim.run_all(adb, who, handler_result)
    assert (await sim.workflow_row(adb, wid))["status"] == "completed"


async def test_a_step_whose_input_is_missing_fails_the_workflow(adb: Database) -> None:
    wid = await start(adb)
    who = sim.claimer(TYPES)
    [topic] = await sim.claim(adb, who)
    await sim.complete(adb, who, topic, {"headline": "no title key"})
    steps = await sim.step_rows(adb, wid)
    assert steps["script"]["status"] == "failed" and steps["cover"]["status"] == "failed"
    assert steps["script"]["error_details"]["kind"] == "input"
    wf = await sim.workflow_row(adb, wid)
    assert wf["status"] == "failed" and "$steps.topic.title does not exist" in wf["error_message"]
    assert await sim.claim(adb, who) == []


async def test_concurrent_fan_in_enqueues_the_join_step_once(adb: Database) -> None:
    """Many workflows; for each, both parents of the join step complete at the same moment in two
    transactions of two 'workers'."""
    who_a, who_b = sim.claimer(TYPES, "worker-a"), sim.claimer(TYPES, "worker-b")
    wids = [await start(adb, {"query": f"q{i}"}) for i in range(12)]
    for row in await sim.claim(adb, who_a):
        await sim.complete(adb, who_a, row, handler_result(row))
    rows = await sim.claim(adb, who_a, batch=1000)
    by_wf: dict[str, dict[str, TaskRow]] = {}
    for row in rows:
        by_wf.setdefault(str(row["workflow_id"]), {})[row["step_name"]] = row
    for wid in wids:
        script, cover = by_wf[wid]["script"], by_wf[wid]["cover"]
        await asyncio.gather(
            sim.complete(adb, who_a, script, handler_result(script)),
            sim.complete(adb, who_a, cover, handler_result(cover)),
        )
    for wid in wids:
        voice = [t for t in await sim.tasks_of(adb, wid) if t["step_name"] == "voice"]
        assert len(voice) == 1, wid
    await sim.run_all(adb, who_b, handler_result)
    for wid in wids:
        assert (await sim.workflow_row(adb, wid))["status"] == "completed"


async def test_a_crash_inside_the_completion_loses_and_doubles_nothing(adb: Database) -> None:
    """The completion and the enqueue of the next steps are one transaction: abort it half-way."""
    from aether.queue import lifecycle

    wid = await start(adb)
    who = sim.claimer(TYPES)
    [topic] = await sim.claim(adb, who)
    with pytest.raises(RuntimeError, match="power cut"):
        async with adb.transaction() as conn:
            await lifecycle.complete(conn, who, [(topic, handler_result(topic))])
            assert len(await (await conn.execute("SELECT id FROM tasks")).fetchall()) == 3
            raise RuntimeError("power cut")
    steps = await sim.step_rows(adb, wid)
    assert steps["topic"]["status"] == "queued" and steps["script"]["status"] == "pending"
    assert len(await sim.tasks_of(adb, wid)) == 1
    assert await sim.complete(adb, who, topic, handler_result(topic))
    assert len(await sim.tasks_of(adb, wid)) == 3


async def test_resume_records_steps_whose_hooks_never_ran(adb: Database) -> None:
    wid = await start(adb)
    blind = sim.claimer(TYPES, hooks=NO_HOOKS)  # a worker that runs without the engine's hooks
    [topic] = await sim.claim(adb, blind)
    await sim.complete(adb, blind, topic, handler_result(topic))
    who = sim.claimer(TYPES)
    assert (await sim.step_rows(adb, wid))["topic"]["status"] == "queued"
    async with adb.connection() as conn:
        moved = await resume_workflow(conn, wid)
    assert sorted(moved.enqueued) == ["cover", "script"]
    async with adb.connection() as conn:
        assert (await resume_workflow(conn, wid)).enqueued == {}  # nothing to do twice
    await sim.run_all(adb, who, handler_result)
    assert (await sim.workflow_row(adb, wid))["status"] == "completed"


async def test_a_task_cancelled_directly_fails_its_workflow(adb: Database) -> None:
    wid = await start(adb)
    [task] = await sim.tasks_of(adb, wid)
    async with adb.transaction() as conn:
        assert await cancel(conn, task["id"], hooks=HOOKS)
    assert (await sim.step_rows(adb, wid))["topic"]["status"] == "cancelled"
    wf = await sim.workflow_row(adb, wid)
    assert wf["status"] == "failed" and "step 'topic' was cancelled" in wf["error_message"]
    async with adb.connection() as conn:
        await retry_workflow(conn, wid)
    await sim.run_all(adb, sim.claimer(TYPES), handler_result)
    assert (await sim.workflow_row(adb, wid))["status"] == "completed"


async def test_unknown_and_malformed_ids(adb: Database) -> None:
    async with adb.connection() as conn:
        with pytest.raises(ValidationFailed, match="workflow_id must be a UUID"):
            await cancel_workflow(conn, "not-a-uuid", hooks=HOOKS)
        with pytest.raises(NotFound):
            await retry_workflow(conn, "00000000-0000-0000-0000-000000000000")
        with pytest.raises(NotFound):
            await get_workflow_state(conn, "00000000-0000-0000-0000-000000000000")
