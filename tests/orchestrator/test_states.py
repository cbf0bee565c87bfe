"""Property tests of the workflow state machine, on the real engine and queue: random DAGs driven by
random sequences of task completions, retried and final failures, cancels and retries."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from aether.db.pool import Database
from aether.errors import Conflict
from aether.orchestrator import (
    HOOKS,
    Step,
    WorkflowDefinition,
    cancel_workflow,
    register_workflow,
    retry_workflow,
    start_workflow,
    states,
    unregister_workflow,
)
from aether.queue.lifecycle import TaskRow
from tests.orchestrator import sim

_examples = itertools.count()

EVENTS = ("complete", "complete", "complete", "fail", "fail_final", "cancel", "retry")


def test_the_transition_tables_are_closed() -> None:
    for table, names in (
        (states.WORKFLOW_TRANSITIONS, states.WORKFLOW_STATUSES),
        (states.STEP_TRANSITIONS, states.STEP_STATUSES),
    ):
        assert set(table) == set(names)
        assert all(target in names for targets in table.values() for target in targets)
    assert states.WORKFLOW_TRANSITIONS["completed"] == frozenset()
    assert states.STEP_TRANSITIONS["completed"] == frozenset()
    assert [s for s in states.WORKFLOW_STATUSES if states.retryable(s)] == ["failed", "cancelled"]
    assert [s for s in states.WORKFLOW_STATUSES if states.cancellable(s)] == ["pending", "running", "failed"]


@st.composite
def dags(draw: st.DrawFn) -> list[tuple[str, list[str]]]:
    """Up to 5 steps; each may depend on any earlier ones (so fan-out and fan-in both appear)."""
    count = draw(st.integers(min_value=1, max_value=5))
    steps: list[tuple[str, list[str]]] = []
    for index in range(count):
        deps = draw(st.lists(st.integers(0, index - 1), unique=True, max_size=3)) if index else []
        steps.append((f"s{index}", [f"s{d}" for d in sorted(deps)]))
    return steps


@dataclass
class Snapshot:
    workflow: dict[str, Any]
    steps: dict[str, dict[str, Any]]
    tasks: dict[int, dict[str, Any]]


async def snapshot(db: Database, wid: str) -> Snapshot:
    tasks = {t["id"]: t for t in await sim.tasks_of(db, wid)}
    return Snapshot(await sim.workflow_row(db, wid), await sim.step_rows(db, wid), tasks)


def live(task: dict[str, Any]) -> bool:
    return task["status"] in ("pending", "in_progress") and not task["cancel_requested"]


def reachable(table: dict[str, frozenset[str]], old: str, new: str, hops: int) -> bool:
    """`new` is `old` or follows from it by at most `hops` moves of the transition table."""
    frontier = {old}
    for _ in range(hops):
        frontier |= {target for status in frontier for target in table[status]}
    return new in frontier


def check(before: Snapshot, now: Snapshot, deps: dict[str, list[str]], event: str = "") -> None:
    """Invariants after one event; a retry makes two moves at once (failed -> pending -> queued)."""
    wf = now.workflow
    hops = 2 if event == "retry" else 1
    assert reachable(states.WORKFLOW_TRANSITIONS, before.workflow["status"], wf["status"], hops), (
        event,
        before.workflow["status"],
        wf["status"],
    )
    for name, step in now.steps.items():
        old = before.steps[name]["status"]
        assert reachable(states.STEP_TRANSITIONS, old, step["status"], hops), (event, name, old, step["status"])
    # exactly one live task per queued step, none for any other step: no step is ever enqueued twice
    live_by_step: dict[str, list[int]] = {}
    for task in now.tasks.values():
        if live(task):
            live_by_step.setdefault(task["step_name"], []).append(task["id"])
    for name, step in now.steps.items():
        if step["status"] == "queued":
            assert live_by_step.get(name) == [step["task_id"]], (name, live_by_step.get(name))
            assert all(now.steps[d]["status"] == "completed" for d in deps[name]), name
            expected = {d: now.steps[d]["output_summary"]["v"] for d in deps[name]}
            assert step["input_params"] == {"deps": expected, "p": wf["params"]["x"]}
        else:
            assert name not in live_by_step, (name, step["status"], live_by_step[name])
        if step["status"] == "completed":
            assert step["output_summary"] == now.tasks[step["task_id"]]["result"]
            assert wf["context_data"]["steps"][name] == step["output_summary"]
    statuses = {s["status"] for s in now.steps.values()}
    if wf["status"] == "completed":
        assert statuses == {"completed"}
    if wf["status"] == "running":
        assert statuses != {"completed"}  # the last step's completion completes the workflow
        assert not statuses & {"failed", "cancelled"}
    if wf["status"] == "failed":
        assert statuses & {"failed", "cancelled"}


async def play(db: Database, shape: list[tuple[str, list[str]]], events: list[tuple[str, int]]) -> None:
    number = next(_examples)
    name, task_type = f"prop_{number}", f"prop.{number}"
    definition = WorkflowDefinition(
        name,
        1,
        steps=[
            Step(
                step,
                task_type,
                "prop",
                after=after,
                inputs={"p": "$params.x", "deps": {d: f"$steps.{d}.v" for d in after}},
                max_attempts=2,
            )
            for step, after in shape
        ],
    )
    deps = dict(shape)
    register_workflow(definition)
    try:
        async with db.connection() as conn:
            wid = await start_workflow(conn, name, {"x": number})
        who = sim.claimer([task_type])
        held: list[TaskRow] = []
        before = await snapshot(db, wid)
        check(before, before, deps)
        for kind, pick in events:
            status = before.workflow["status"]
            if kind in ("complete", "fail", "fail_final"):
                held += await sim.claim(db, who)
                if not held:
                    continue
                row = held.pop(pick % len(held))
                if kind == "complete":
                    await sim.complete(db, who, row, {"v": row["id"]})
                else:
                    await sim.fail(db, who, row, f"{kind} of task {row['id']}", final=kind == "fail_final")
            elif kind == "cancel":
                async with db.connection() as conn:
                    if states.cancellable(status):
                        await cancel_workflow(conn, wid, hooks=HOOKS)
                    else:
                        with pytest.raises(Conflict):
                            await cancel_workflow(conn, wid, hooks=HOOKS)
            else:
                async with db.connection() as conn:
                    if states.retryable(status):
                        await retry_workflow(conn, wid)
                    else:
                        with pytest.raises(Conflict):
                            await retry_workflow(conn, wid)
            now = await snapshot(db, wid)
            check(before, now, deps, kind)
            before = now
        # liveness: retrying and running what is queued always finishes the workflow
        for _ in range(4 * len(shape) + 4):
            if before.workflow["status"] == "completed":
                break
            if states.retryable(before.workflow["status"]):
                async with db.connection() as conn:
                    await retry_workflow(conn, wid)
                now = await snapshot(db, wid)
                check(before, now, deps, "retry")
                before = now
            held += await sim.claim(db, who)
            while held:
                row = held.pop()
                await sim.complete(db, who, row, {"v": row["id"]})
                now = await snapshot(db, wid)
                check(before, now, deps, "complete")
                before = now
        assert before.workflow["status"] == "completed"
        # a completed step is never run again: no task of a step is newer than the one that completed it
        for step_name, step in before.steps.items():
            ids = [t["id"] for t in before.tasks.values() if t["step_name"] == step_name]
            assert max(ids) == step["task_id"], (step_name, ids, step["task_id"])
    finally:
        unregister_workflow(name)


@pytest.mark.slow
# no shrinking: every example drives PostgreSQL, so shrinking takes minutes; a failure prints its
# (short) example in full anyway
@settings(
    max_examples=40,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    shape=dags(),
    events=st.lists(st.tuples(st.sampled_from(EVENTS), st.integers(0, 20)), max_size=25),
)
async def test_random_runs_keep_every_invariant(
    adb: Database, shape: list[tuple[str, list[str]]], events: list[tuple[str, int]]
) -> None:
    await play(adb, shape, events)
