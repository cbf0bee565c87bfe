"""The CPOA engine: start a workflow, advance it as its steps' tasks finish, cancel, retry, resume.

Durability comes from doing each move in one transaction with the queue:

* `start_workflow` inserts the workflow row, every step row and the root steps' tasks together;
* the queue calls `step_completed` / `step_failed` (registered as hooks in `aether.orchestrator.hooks`)
  inside the transaction that finishes a task, so recording a step's output and enqueueing the steps it
  unblocks commit or roll back with the task itself: no crash can lose or double a step.

Locks are always taken in one order: the `tasks` row(s) first (the queue holds the finished task's row
when it calls a hook), then the `workflow_instances` row. All moves of one workflow serialise on that
row; each move is a conditional UPDATE from the statuses it may leave (see `states`).

On a step's final failure the workflow becomes `failed` at once; sibling steps already running are left
to finish and their outputs are kept, so `retry_workflow` re-runs only the failed (or cancelled) steps
and whatever was still waiting on them.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from aether.db.pool import AsyncConnection
from aether.db.queries import load_queries
from aether.errors import Conflict, InputError, NotFound, ValidationFailed
from aether.orchestrator import states
from aether.orchestrator.definitions import WorkflowDefinition, get_workflow
from aether.orchestrator.inputs import resolve
from aether.queue.control import cancel as cancel_task
from aether.queue.enqueue import NewTask, enqueue
from aether.queue.tasks import Hooks

Q = load_queries(__file__, "queries.sql")
log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000


@dataclass
class Advance:
    """What one move of the engine did."""

    enqueued: dict[str, int] = field(default_factory=dict)  # step -> task id
    failed: list[str] = field(default_factory=list)  # steps whose inputs could not be resolved
    completed: bool = False


# ---- starting -----------------------------------------------------------------------------------


def _check_params(defn: WorkflowDefinition, params: Any) -> dict[str, Any]:
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValidationFailed(f"params must be a JSON object (got {type(params).__name__})", field="params")
    checked: dict[str, Any] = dict(params)
    try:
        json.dumps(checked)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"params must be JSON values: {exc}", field="params") from None
    for where, path in defn.param_references().items():
        value: Any = checked
        for depth, key in enumerate(path):
            if not isinstance(value, Mapping) or key not in value:
                name = ".".join(path[: depth + 1])
                raise ValidationFailed(
                    f"workflow {defn.name!r} needs parameter {name!r} (read by {where})", field=f"params.{name}"
                )
            value = value[key]
    return checked


async def start_workflow(
    conn: AsyncConnection,
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    user_id: int | None = None,
    trigger_event_type: str | None = None,
    trigger_details: Mapping[str, Any] | None = None,
    version: int | None = None,
    trigger: str | None = None,
) -> str:
    """Create a workflow of the registered definition `name` and enqueue its root steps, all in one
    transaction (the caller's, when one is open). Returns the workflow id. `trigger` is an alias of
    `trigger_event_type` (default "api")."""
    defn = get_workflow(name, version)
    checked = _check_params(defn, params)
    event_type = trigger_event_type or trigger or "api"
    if len(event_type) > 50:
        raise ValidationFailed("trigger_event_type must be at most 50 characters", field="trigger_event_type")
    if user_id is not None and (isinstance(user_id, bool) or not isinstance(user_id, int)):
        raise ValidationFailed("user_id must be an integer", field="user_id")
    steps = [
        {
            "step_name": step.name,
            "agent_name": step.agent,
            "task_type": step.task_type,
            "depends_on": list(step.after),
            "input_spec": step.inputs,
            "priority": step.priority,
            "max_attempts": step.max_attempts,
            "position": position,
        }
        for position, step in enumerate(defn.steps)
    ]
    async with conn.transaction():
        cur = await conn.execute(
            Q.insert_workflow,
            {
                "name": defn.name,
                "version": defn.version,
                "params": Jsonb(checked),
                "trigger_event_type": event_type,
                "trigger_details": Jsonb(dict(trigger_details)) if trigger_details is not None else None,
                "user_id": user_id,
            },
        )
        row = await cur.fetchone()
        assert row is not None
        workflow_id: str = row["workflow_id"]
        await conn.execute(Q.insert_steps, {"workflow_id": workflow_id, "steps": json.dumps(steps)})
        result = await advance(conn, workflow_id, checked)
    log.info(
        "workflow %s started (%s v%d): enqueued %s",
        workflow_id,
        defn.name,
        defn.version,
        ", ".join(result.enqueued) or "nothing",
        extra={"workflow_id": workflow_id},
    )
    return workflow_id


# ---- advancing ----------------------------------------------------------------------------------


async def advance(conn: AsyncConnection, workflow_id: str, params: Mapping[str, Any]) -> Advance:
    """Enqueue every pending step whose dependencies have all completed, then complete the workflow if
    nothing is left. The caller holds the workflow's row lock (or has just created the workflow)."""
    result = Advance()
    cur = await conn.execute(Q.claim_ready_steps, {"workflow_id": workflow_id})
    ready = sorted(await cur.fetchall(), key=lambda r: r["position"])
    if ready:
        cur = await conn.execute(Q.step_outputs, {"workflow_id": workflow_id})
        outputs = {r["step_name"]: r["output_summary"] for r in await cur.fetchall()}
        resolved: list[tuple[dict[str, Any], dict[str, Any]]] = []
        broken: list[dict[str, Any]] = []
        for step in ready:
            try:
                payload = resolve(step["input_spec"] or {}, params, outputs)
            except InputError as exc:
                broken.append(
                    {
                        "step_name": step["step_name"],
                        "error_details": {"kind": "input", "message": f"input of step {step['step_name']!r}: {exc}"},
                    }
                )
                continue
            resolved.append((step, payload))
        if broken:
            await _fail_on_inputs(conn, workflow_id, broken, [s["step_name"] for s, _ in resolved])
            result.failed = [b["step_name"] for b in broken]
            return result
        tasks = [
            NewTask(
                task_type=step["task_type"],
                agent=step["agent_name"],
                payload=payload,
                priority=step["priority"],
                max_attempts=step["max_attempts"],
                workflow_id=workflow_id,
                step_name=step["step_name"],
            )
            for step, payload in resolved
        ]
        ids = await enqueue(conn, tasks)
        rows = [
            {"step_name": step["step_name"], "task_id": task_id, "input_params": payload}
            for (step, payload), task_id in zip(resolved, ids, strict=True)
        ]
        await conn.execute(Q.set_step_tasks, {"workflow_id": workflow_id, "steps": json.dumps(rows)})
        result.enqueued = {r["step_name"]: r["task_id"] for r in rows}
    cur = await conn.execute(Q.complete_workflow_if_done, {"workflow_id": workflow_id})
    result.completed = await cur.fetchone() is not None
    if result.completed:
        log.info("workflow %s completed", workflow_id, extra={"workflow_id": workflow_id})
    return result


async def _fail_on_inputs(
    conn: AsyncConnection, workflow_id: str, broken: list[dict[str, Any]], others: list[str]
) -> None:
    await conn.execute(Q.fail_steps_on_input, {"workflow_id": workflow_id, "steps": json.dumps(broken)})
    if others:
        await conn.execute(Q.unqueue_steps, {"workflow_id": workflow_id, "steps": others})
    message = "; ".join(b["error_details"]["message"] for b in broken)
    await conn.execute(Q.fail_workflow, {"workflow_id": workflow_id, "error": message[:MAX_ERROR_CHARS]})
    log.warning("workflow %s failed: %s", workflow_id, message, extra={"workflow_id": workflow_id})


async def _lock(conn: AsyncConnection, workflow_id: str) -> dict[str, Any]:
    cur = await conn.execute(Q.lock_workflow, {"workflow_id": workflow_id})
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no workflow {workflow_id}", field="workflow_id")
    return dict(row)


async def _step_of(conn: AsyncConnection, task_id: int) -> dict[str, Any] | None:
    cur = await conn.execute(Q.step_for_task, {"task_id": task_id})
    row = await cur.fetchone()
    return dict(row) if row is not None else None


def _outside_workflows(task_row: Mapping[str, Any]) -> bool:
    """A task the queue says belongs to no workflow (skips a lookup on every plain task)."""
    return "workflow_id" in task_row and task_row["workflow_id"] is None


def _as_datetime(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# ---- the queue's hooks --------------------------------------------------------------------------


async def step_completed(conn: AsyncConnection, task_row: Mapping[str, Any], result: Mapping[str, Any]) -> None:
    """A task finished: record its step's output and enqueue what that unblocks (same transaction)."""
    await _record_completion(conn, task_row, result)


async def _record_completion(
    conn: AsyncConnection, task_row: Mapping[str, Any], result: Mapping[str, Any]
) -> Advance | None:
    task_id = task_row.get("id")
    if not isinstance(task_id, int) or _outside_workflows(task_row):
        return None
    step = await _step_of(conn, task_id)
    if step is None:
        return None  # not a workflow step
    workflow = await _lock(conn, step["workflow_id"])
    output = dict(result) if isinstance(result, Mapping) else {"value": result}
    cur = await conn.execute(
        Q.complete_step,
        {
            "task_instance_id": step["task_instance_id"],
            "task_id": task_id,
            "output": Jsonb(output),
            "started_at": _as_datetime(task_row.get("started_at")),
            "attempts": _as_int(task_row.get("attempts")),
        },
    )
    if await cur.fetchone() is None:
        return None  # this task no longer runs the step (a retry replaced it), or it was already recorded
    await conn.execute(
        Q.merge_context,
        {"workflow_id": workflow["workflow_id"], "step_name": step["step_name"], "output": Jsonb(output)},
    )
    log.info(
        "workflow %s: step %s completed (task %d)",
        workflow["workflow_id"],
        step["step_name"],
        task_id,
        extra={"workflow_id": workflow["workflow_id"]},
    )
    if workflow["status"] != "running":
        return None
    return await advance(conn, workflow["workflow_id"], workflow["params"])


async def step_failed(conn: AsyncConnection, task_row: Mapping[str, Any], error: str, final: bool) -> None:
    """A task failed. Not final: note the error (the queue retries it). Final: the step fails (or is
    cancelled, when its task was cancelled) and a running workflow fails with it."""
    task_id = task_row.get("id")
    if not isinstance(task_id, int) or _outside_workflows(task_row):
        return
    step = await _step_of(conn, task_id)
    if step is None:
        return
    workflow = await _lock(conn, step["workflow_id"])
    attempts = _as_int(task_row.get("attempts"))
    cancelled = task_row.get("status") == "cancelled" or (bool(task_row.get("cancel_requested")) and final)
    last_error = task_row.get("last_error") if isinstance(task_row.get("last_error"), Mapping) else {}
    assert isinstance(last_error, Mapping)
    details = {
        "message": str(error)[:MAX_ERROR_CHARS],
        "attempt": attempts,
        "final": final,
        "task_id": task_id,
        "kind": "cancelled" if cancelled else "task",
        "code": last_error.get("code") or ("cancelled" if cancelled else "task_failed"),
        "reason": str(last_error.get("reason") or error)[:MAX_ERROR_CHARS],
    }
    params = {
        "task_instance_id": step["task_instance_id"],
        "task_id": task_id,
        "error": Jsonb(details),
        "attempts": attempts,
        "started_at": _as_datetime(task_row.get("started_at")),
    }
    if not final:
        await conn.execute(Q.note_step_error, params)
        return
    cur = await conn.execute(Q.end_step, {**params, "status": "cancelled" if cancelled else "failed"})
    if await cur.fetchone() is None:
        return
    what = "was cancelled" if cancelled else f"failed after {attempts} attempt(s)"
    message = f"step {step['step_name']!r} {what}: {error}"[:MAX_ERROR_CHARS]
    await conn.execute(Q.fail_workflow, {"workflow_id": workflow["workflow_id"], "error": message})
    log.warning("workflow %s: %s", workflow["workflow_id"], message, extra={"workflow_id": workflow["workflow_id"]})


# ---- operator moves -----------------------------------------------------------------------------


@dataclass
class CancelResult:
    workflow_id: str
    cancelled_steps: list[str]
    cancelled_tasks: list[int]


async def cancel_workflow(
    conn: AsyncConnection, workflow_id: str, *, hooks: Hooks, reason: str = "cancelled by user"
) -> CancelResult:
    """Cancel a running (or failed) workflow: its waiting steps are cancelled and the tasks of its
    queued and running steps are cancelled in the queue (a running handler is told to stop; a pending
    task's `hooks.on_fail` run, as for any cancelled task)."""

    workflow_id = _uuid(workflow_id)
    async with conn.transaction():
        cur = await conn.execute(Q.live_step_tasks, {"workflow_id": workflow_id})
        live = [r["task_id"] for r in await cur.fetchall()]
        if live:  # tasks rows before the workflow row: the order the queue's hooks lock in
            await conn.execute(Q.lock_tasks, {"ids": live})
        workflow = await _lock(conn, workflow_id)
        if not states.cancellable(workflow["status"]):
            raise Conflict(
                f"workflow {workflow_id} is {workflow['status']}; only running or failed workflows can be cancelled",
                field="workflow_id",
            )
        cur = await conn.execute(Q.cancel_steps, {"workflow_id": workflow_id})
        steps = await cur.fetchall()
        await conn.execute(Q.cancel_workflow, {"workflow_id": workflow_id, "reason": reason[:MAX_ERROR_CHARS]})
        tasks: list[int] = []
        for step in steps:
            live_task = step["old_status"] in states.STEP_LIVE and step["task_id"] is not None
            if live_task and await cancel_task(conn, step["task_id"], hooks=hooks):
                tasks.append(step["task_id"])
    log.info("workflow %s cancelled", workflow_id, extra={"workflow_id": workflow_id})
    return CancelResult(workflow_id, [s["step_name"] for s in steps], tasks)


@dataclass
class RetryResult:
    workflow_id: str
    reset_steps: list[str]
    enqueued: dict[str, int]
    completed: bool


async def retry_workflow(conn: AsyncConnection, workflow_id: str) -> RetryResult:
    """Run a failed or cancelled workflow again from the steps that did not complete; completed steps
    keep their outputs and are not run again."""
    workflow_id = _uuid(workflow_id)
    async with conn.transaction():
        workflow = await _lock(conn, workflow_id)
        if not states.retryable(workflow["status"]):
            raise Conflict(
                f"workflow {workflow_id} is {workflow['status']}; only failed or cancelled workflows can be retried",
                field="workflow_id",
            )
        cur = await conn.execute(Q.reset_steps_for_retry, {"workflow_id": workflow_id})
        reset = [r["step_name"] for r in await cur.fetchall()]
        await conn.execute(Q.restart_workflow, {"workflow_id": workflow_id})
        moved = await advance(conn, workflow_id, workflow["params"])
    log.info(
        "workflow %s retried: re-enqueued %s",
        workflow_id,
        ", ".join(moved.enqueued) or "nothing",
        extra={"workflow_id": workflow_id},
    )
    return RetryResult(workflow_id, reset, moved.enqueued, moved.completed)


async def resume_workflow(conn: AsyncConnection, workflow_id: str) -> Advance:
    """Bring a running workflow up to date with the queue: a queued step whose task ended without the
    engine hearing of it (a worker running without the engine's hooks) is recorded now; a step whose task
    vanished is enqueued again; then every ready step is enqueued. Safe to run at any time."""
    workflow_id = _uuid(workflow_id)
    async with conn.transaction():
        cur = await conn.execute(Q.live_step_tasks, {"workflow_id": workflow_id})
        live = [r["task_id"] for r in await cur.fetchall()]
        if live:
            await conn.execute(Q.lock_tasks, {"ids": live})
        workflow = await _lock(conn, workflow_id)
        if workflow["status"] != "running":
            return Advance(completed=workflow["status"] == "completed")
        result = Advance()
        cur = await conn.execute(Q.stranded_steps, {"workflow_id": workflow_id})
        for row in await cur.fetchall():
            task_row = {"id": row["task_id"], "attempts": row["attempts"], "started_at": row["started_at"]}
            if row["found_id"] is None:
                await conn.execute(Q.unqueue_steps, {"workflow_id": workflow_id, "steps": [row["step_name"]]})
            elif row["task_status"] == "completed":
                moved = await _record_completion(conn, task_row, row["result"] or {})
                if moved is not None:
                    result.enqueued.update(moved.enqueued)
                    result.failed.extend(moved.failed)
            else:
                task_row["status"] = row["task_status"]
                error = row["last_error"] or {}
                message = error.get("message") if isinstance(error, Mapping) else None
                await step_failed(conn, task_row, str(message or f"task {row['task_status']}"), True)
        workflow = await _lock(conn, workflow_id)
        if workflow["status"] == "running":
            moved = await advance(conn, workflow_id, workflow["params"])
            result.enqueued.update(moved.enqueued)
            result.failed.extend(moved.failed)
        result.completed = (await _lock(conn, workflow_id))["status"] == "completed"
        return result


# ---- reading ------------------------------------------------------------------------------------


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValidationFailed(f"workflow_id must be a UUID (got {value!r})", field="workflow_id") from None


async def find_workflow_id(conn: AsyncConnection, ref: str) -> str:
    """A full workflow id, or the one workflow whose id starts with `ref` (at least 4 hex digits)."""
    ref = ref.strip().lower()
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        pass
    if len(ref) < 4 or any(c not in "0123456789abcdef-" for c in ref):
        raise ValidationFailed(
            f"workflow id must be a UUID or at least its first 4 hex digits (got {ref!r})", field="workflow_id"
        )
    cur = await conn.execute(Q.find_workflows_by_prefix, {"prefix": ref})
    rows = await cur.fetchall()
    if not rows:
        raise NotFound(f"no workflow id starts with {ref!r}", field="workflow_id")
    if len(rows) > 1:
        raise ValidationFailed(f"more than one workflow id starts with {ref!r}; give more digits", field="workflow_id")
    found: str = rows[0]["workflow_id"]
    return found


async def get_workflow_state(conn: AsyncConnection, workflow_id: str) -> dict[str, Any]:
    """The workflow row with its steps (status shown as in_progress while a worker runs the task)."""
    workflow_id = _uuid(workflow_id)
    cur = await conn.execute(Q.get_workflow, {"workflow_id": workflow_id})
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no workflow {workflow_id}", field="workflow_id")
    cur = await conn.execute(Q.get_steps, {"workflow_id": workflow_id})
    state = dict(row)
    state["steps"] = [dict(s) for s in await cur.fetchall()]
    return state


async def list_workflows(
    conn: AsyncConnection,
    *,
    status: str | None = None,
    name: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    if status is not None and status not in states.WORKFLOW_STATUSES:
        raise ValidationFailed(
            f"status must be one of {', '.join(states.WORKFLOW_STATUSES)} (got {status!r})", field="status"
        )
    if not 1 <= limit <= 1000:
        raise ValidationFailed("limit must be between 1 and 1000", field="limit")
    if offset < 0:
        raise ValidationFailed("offset must be 0 or more", field="offset")
    cur = await conn.execute(Q.list_workflows, {"status": status, "name": name, "limit": limit, "offset": offset})
    return [dict(r) for r in await cur.fetchall()]


async def running_workflow_ids(conn: AsyncConnection, limit: int = 1000) -> list[str]:
    cur = await conn.execute(Q.running_workflows, {"limit": limit})
    return [r["workflow_id"] for r in await cur.fetchall()]
