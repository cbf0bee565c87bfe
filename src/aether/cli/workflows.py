"""`aether workflows ...`: list, show (the step graph with status and timing), cancel, retry, resume."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aether.cli.common import run_with_db
from aether.db.pool import AsyncConnection, Database
from aether.orchestrator import engine
from aether.run.hooks import HOOKS

app = typer.Typer(help="Workflows (CPOA): list, show, cancel, retry, resume.", no_args_is_help=True)
console = Console()
T = TypeVar("T")

STATUS_STYLE = {
    "pending": "dim",
    "queued": "cyan",
    "in_progress": "yellow",
    "running": "yellow",
    "completed": "green",
    "failed": "bold red",
    "cancelled": "magenta",
    "skipped": "dim",
}
_RETRIES = 5  # deadlocks with a worker finishing a step of the same workflow are retried


def _run(work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """`work(conn)` on the database, again when it deadlocked with a worker."""

    async def retrying(db: Database) -> T:
        for attempt in range(_RETRIES):
            try:
                async with db.connection() as conn:
                    return await work(conn)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    return run_with_db(retrying)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _dump(value: Any) -> None:
    print(json.dumps(value, default=_json_default))


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return ""
    if end is None:
        end = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, like the database timestamps
    seconds = max((end - start).total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _status(value: str) -> Text:
    return Text(value, style=STATUS_STYLE.get(value, ""))


def _levels(steps: list[dict[str, Any]]) -> dict[str, int]:
    """Depth of each step in the graph (longest chain of dependencies above it)."""
    deps = {s["step_name"]: list(s["depends_on"] or []) for s in steps}
    level: dict[str, int] = {}

    def depth(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name not in level:
            parents = [d for d in deps.get(name, []) if d in deps and d not in seen]
            level[name] = 1 + max((depth(p, seen | {name}) for p in parents), default=-1)
        return level[name]

    for name in deps:
        depth(name)
    return level


def _error_text(details: Any) -> str:
    if isinstance(details, dict):
        return str(details.get("message", ""))
    return "" if details is None else str(details)


@app.command("list")
def list_(
    status: str | None = typer.Option(None, "--status", help="Only this status (running, failed, ...)."),
    name: str | None = typer.Option(None, "--name", help="Only this definition name."),
    limit: int = typer.Option(50, "--limit", help="At most this many rows."),
    offset: int = typer.Option(0, "--offset", help="Skip this many rows (pagination)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    """Workflows, newest first."""
    rows = _run(lambda conn: engine.list_workflows(conn, status=status, name=name, limit=limit, offset=offset))
    if as_json:
        _dump(rows)
        return
    if not rows:
        console.print("no workflows")
        return
    # Fits 80 columns: the short id every command takes, the definition's name, status with steps done,
    # the start to the minute, and as much of the error as the line has room for.
    name_width = min(16, max(len("workflow"), *(len(row["definition_name"]) for row in rows)))
    fixed = 8 + name_width + 11 + 11 + 4 * 2  # four columns and the two spaces after each
    table = Table(title=f"workflows {offset + 1}-{offset + len(rows)}", box=None, padding=(0, 2, 0, 0))
    table.add_column("id", no_wrap=True, width=8)
    table.add_column("workflow", no_wrap=True, overflow="ellipsis", width=name_width)
    table.add_column("status", no_wrap=True, width=11)
    table.add_column("created", no_wrap=True, width=11)
    table.add_column("error", no_wrap=True, overflow="ellipsis", max_width=max(12, console.width - fixed - 1))
    for row in rows:
        table.add_row(
            row["workflow_id"][:8],
            row["definition_name"],
            Text.assemble(_status(row["status"]), f" {row['steps_completed']}/{row['steps']}"),
            row["created_at"].strftime("%m-%d %H:%M") if row["created_at"] else "",
            row["error_message"] or "",
        )
    console.print(table)


@app.command()
def show(
    workflow_id: str = typer.Argument(..., help="Workflow id (or its first digits)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """One workflow: its step graph with each step's status, attempts and timing."""

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        return await engine.get_workflow_state(conn, await engine.find_workflow_id(conn, workflow_id))

    state = _run(work)
    if as_json:
        _dump(state)
        return
    render_state(state, console)


def render_state(state: dict[str, Any], console: Console) -> None:
    """The workflow's header, its step graph as a table (indented by depth), then every error in full."""
    header = Text.assemble(
        (f"workflow {state['workflow_id']}", "bold"),
        f"  {state['definition_name']} v{state['definition_version']}  ",
        _status(state["status"]),
    )
    console.print(header, soft_wrap=True)
    console.print(
        f"started {_time(state['started_at'])}  finished {_time(state['completed_at']) or '-'}  "
        f"took {_duration(state['started_at'], state['completed_at'])}",
        soft_wrap=True,
    )
    levels = _levels(state["steps"])
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("step", no_wrap=True)
    table.add_column("task type")
    table.add_column("after")
    table.add_column("status", no_wrap=True)
    table.add_column("tries", justify="right")
    table.add_column("started", no_wrap=True)
    table.add_column("took", no_wrap=True)
    errors: list[tuple[str, str]] = []
    for step in state["steps"]:
        depth = levels.get(step["step_name"], 0)
        table.add_row(
            f"{'  ' * (depth - 1)}└ {step['step_name']}" if depth else step["step_name"],
            step["task_type"],
            ", ".join(step["depends_on"] or []) or "-",
            _status(step["status"]),
            str(step["attempts"]),
            step["started_at"].strftime("%H:%M:%S") if step["started_at"] else "",
            _duration(step["started_at"], step["completed_at"]) if step["status"] != "pending" else "",
        )
        if step["status"] != "completed" and step["error_details"]:
            errors.append((step["step_name"], _error_text(step["error_details"])))
    console.print(table)
    if state["error_message"]:
        console.print(Text(f"error: {state['error_message']}", style="red"), soft_wrap=True)
    for name, message in errors:
        console.print(Text(f"step {name}: {message}", style="red"), soft_wrap=True)


@app.command()
def cancel(
    workflow_id: str = typer.Argument(..., help="Workflow id (or its first digits)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Cancel a running or failed workflow: waiting steps are cancelled, running tasks are told to stop."""

    async def work(conn: AsyncConnection) -> engine.CancelResult:
        return await engine.cancel_workflow(conn, await engine.find_workflow_id(conn, workflow_id), hooks=HOOKS)

    result = _run(work)
    if as_json:
        _dump(result.__dict__)
        return
    console.print(
        f"workflow {result.workflow_id} cancelled: steps {', '.join(result.cancelled_steps) or 'none'}; "
        f"tasks stopped: {', '.join(map(str, result.cancelled_tasks)) or 'none'}"
    )


@app.command()
def retry(
    workflow_id: str = typer.Argument(..., help="Workflow id (or its first digits)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Run a failed or cancelled workflow again from its failed steps; completed steps are kept."""

    async def work(conn: AsyncConnection) -> engine.RetryResult:
        return await engine.retry_workflow(conn, await engine.find_workflow_id(conn, workflow_id))

    result = _run(work)
    if as_json:
        _dump(result.__dict__)
        return
    enqueued = ", ".join(f"{step} (task {task})" for step, task in result.enqueued.items()) or "nothing"
    console.print(f"workflow {result.workflow_id} running again: enqueued {enqueued}")


@app.command()
def resume(
    workflow_id: str | None = typer.Argument(None, help="Workflow id (or its first digits); none = every running one."),
) -> None:
    """Reconcile running workflows with the queue (steps whose tasks ended unseen are recorded)."""

    async def work(conn: AsyncConnection) -> list[tuple[str, engine.Advance]]:
        ids = (
            [await engine.find_workflow_id(conn, workflow_id)]
            if workflow_id
            else await engine.running_workflow_ids(conn)
        )
        return [(wid, await engine.resume_workflow(conn, wid)) for wid in ids]

    for wid, moved in _run(work):
        what = ", ".join(moved.enqueued) or "nothing new"
        state = "completed" if moved.completed else ("failed" if moved.failed else "running")
        console.print(f"workflow {wid}: enqueued {what}; {state}")
