"""`aether tasks ...`: list, inspect, retry and cancel tasks; concurrency limits; periodic tasks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.table import Table

from aether.cli.common import console, json_default, print_json, run_with_db, text
from aether.db.pool import Database
from aether.errors import Conflict, NotFound, ValidationFailed
from aether.queue.control import TaskFilter, get_task, list_tasks, status_counts
from aether.queue.control import cancel as cancel_task
from aether.queue.control import retry as retry_task
from aether.queue.enqueue import NewTask, enqueue
from aether.queue.limits import clear_limit, list_limits, set_limit
from aether.queue.periodic import PeriodicTask, list_periodic, remove_periodic, set_periodic_enabled, upsert_periodic
from aether.run.hooks import HOOKS

app = typer.Typer(help="The task queue: list, inspect, retry and cancel tasks; limits; periodic tasks.")

limits_app = typer.Typer(help="Concurrency limits per agent and per task type (across all workers).")

periodic_app = typer.Typer(help="Periodic tasks: cron schedules that the scheduler enqueues.")

app.add_typer(limits_app, name="limits")

app.add_typer(periodic_app, name="periodic")


def _parse_payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"--payload must be a JSON object: {exc.msg} at character {exc.pos}", field="payload"
        ) from None
    if not isinstance(value, dict):
        raise ValidationFailed('--payload must be a JSON object such as \'{"url": "..."}\'', field="payload")
    return value


@app.command("list")
def list_(
    status: str | None = typer.Option(None, "--status", help="pending, in_progress, completed, failed, cancelled."),
    agent: str | None = typer.Option(None, "--agent", help="Only this agent's tasks."),
    task_type: str | None = typer.Option(None, "--type", help="Only tasks of this type."),
    workflow: str | None = typer.Option(None, "--workflow", help="Only tasks of this workflow id."),
    page: int = typer.Option(1, "--page", help="Page number, from 1."),
    page_size: int = typer.Option(50, "--page-size", help="Tasks per page (1-1000)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """List tasks, newest first."""
    where = TaskFilter(status=status, agent=agent, task_type=task_type, workflow_id=workflow)

    async def run(db: Database) -> Any:
        async with db.transaction(readonly=True) as conn:
            return await list_tasks(conn, where, page=page, page_size=page_size)

    result = run_with_db(run)
    if as_json:
        print_json({"tasks": result.rows, "total": result.total, "page": result.page, "pages": result.pages})
        return
    table = Table("id", "type", "agent", "status", "prio", "tries", "scheduled", "finished", "last error")
    for row in result.rows:
        table.add_row(
            str(row["id"]),
            row["task_type"],
            row["agent_name"] or "",
            row["status"],
            str(row["priority"]),
            f"{row['attempts']}/{row['max_attempts']}",
            text(row["scheduled_at"]),
            text(row["completed_at"]),
            (row["last_error"] or "")[:60],
        )
    console.print(table)
    console.print(f"page {result.page} of {result.pages} ({result.total} tasks)")


@app.command()
def show(
    task_id: int = typer.Argument(..., help="Task id."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Everything about one task: payload, result, attempts, lease, last error with its traceback."""

    async def run(db: Database) -> dict[str, Any]:
        async with db.transaction(readonly=True) as conn:
            return await get_task(conn, task_id)

    row = run_with_db(run)
    if as_json:
        print_json(row)
        return
    for key, value in row.items():
        if key in ("payload", "result"):
            console.print(f"[bold]{key}[/bold]: {json.dumps(value, default=json_default)}", highlight=False)
        elif key == "last_error" and value:
            console.print(f"[bold]last_error[/bold]: {value.get('message')}", highlight=False)
            if value.get("traceback"):
                print(value["traceback"].rstrip())
        else:
            console.print(f"[bold]{key}[/bold]: {text(value)}", highlight=False)


@app.command()
def retry(task_id: int = typer.Argument(..., help="Id of a failed or cancelled task.")) -> None:
    """Put a failed or cancelled task back on the queue (attempts start again from 0)."""

    async def run(db: Database) -> None:
        async with db.transaction(actor="cli") as conn:
            await retry_task(conn, task_id)

    run_with_db(run)
    console.print(f"task {task_id} re-queued")


@app.command()
def cancel(task_id: int = typer.Argument(..., help="Id of a pending or running task.")) -> None:
    """Cancel a pending task, or tell a running task's handler to stop."""

    async def run(db: Database) -> str:
        async with db.transaction(actor="cli") as conn:
            before = await get_task(conn, task_id)
            if not await cancel_task(conn, task_id, hooks=HOOKS):
                raise Conflict(
                    f"task {task_id} is {before['status']}; only pending or running tasks can be cancelled", field="id"
                )
            return str(before["status"])

    before = run_with_db(run)
    if before == "pending":
        console.print(f"task {task_id} cancelled")
    else:
        console.print(f"task {task_id} is running: its worker has been told to stop it")


@app.command()
def add(
    task_type: str = typer.Argument(..., help="Task type, e.g. tda.discover."),
    agent: str = typer.Option(..., "--agent", help="Agent that runs it."),
    payload: str = typer.Option("{}", "--payload", help="JSON object passed to the handler."),
    priority: int = typer.Option(1, "--priority", help="Higher runs first."),
    delay: float = typer.Option(0.0, "--delay", min=0, help="Run not before this many seconds from now."),
    max_attempts: int = typer.Option(5, "--max-attempts", help="Attempts before the task fails for good."),
    dedupe_key: str | None = typer.Option(None, "--dedupe-key", help="A live task with this key is reused."),
) -> None:
    """Enqueue one task by hand."""
    task = NewTask(
        task_type,
        agent,
        _parse_payload(payload),
        priority=priority,
        scheduled_at=datetime.now(UTC) + timedelta(seconds=delay) if delay else None,
        max_attempts=max_attempts,
        dedupe_key=dedupe_key,
    )

    async def run(db: Database) -> int:
        async with db.transaction(actor="cli") as conn:
            return (await enqueue(conn, task))[0]

    print(run_with_db(run))


@app.command()
def stats(as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout.")) -> None:
    """How many tasks are in each status."""

    async def run(db: Database) -> dict[str, int]:
        async with db.transaction(readonly=True) as conn:
            return await status_counts(conn)

    counts = run_with_db(run)
    if as_json:
        print_json(counts)
        return
    for status, n in counts.items():
        print(f"{status:<12} {n}")


def _scope(agent: str | None, task_type: str | None) -> tuple[Any, str]:
    if bool(agent) == bool(task_type):
        raise ValidationFailed("give exactly one of --agent or --type", field="scope")
    return ("agent", agent) if agent else ("task_type", task_type or "")


@limits_app.command("list")
def limits_list(as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout.")) -> None:
    """Every limit with the number of its tasks running now."""

    async def run(db: Database) -> list[dict[str, Any]]:
        async with db.transaction(readonly=True) as conn:
            return await list_limits(conn)

    rows = run_with_db(run)
    if as_json:
        print_json(rows)
        return
    table = Table("scope", "name", "max running", "running")
    for row in rows:
        table.add_row(row["scope"], row["name"], str(row["max_running"]), str(row["running"]))
    console.print(table)


@limits_app.command("set")
def limits_set(
    max_running: int = typer.Argument(..., help="Most tasks running at once."),
    agent: str | None = typer.Option(None, "--agent", help="Limit this agent's tasks."),
    task_type: str | None = typer.Option(None, "--type", help="Limit tasks of this type."),
) -> None:
    """Set a concurrency limit (enforced at claim time across all workers)."""
    scope, name = _scope(agent, task_type)

    async def run(db: Database) -> None:
        async with db.transaction(actor="cli") as conn:
            await set_limit(conn, scope, name, max_running)

    run_with_db(run)
    console.print(f"limit set: at most {max_running} running for {scope} {name}")


@limits_app.command("clear")
def limits_clear(
    agent: str | None = typer.Option(None, "--agent", help="The agent's limit."),
    task_type: str | None = typer.Option(None, "--type", help="The task type's limit."),
) -> None:
    """Remove a concurrency limit."""
    scope, name = _scope(agent, task_type)

    async def run(db: Database) -> bool:
        async with db.transaction(actor="cli") as conn:
            return await clear_limit(conn, scope, name)

    if not run_with_db(run):
        raise NotFound(f"no limit for {scope} {name}", field="scope")
    console.print(f"limit for {scope} {name} removed")


@periodic_app.command("list")
def periodic_list(as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout.")) -> None:
    """Every schedule with its last tick."""

    async def run(db: Database) -> list[dict[str, Any]]:
        async with db.transaction(readonly=True) as conn:
            return await list_periodic(conn)

    rows = run_with_db(run)
    if as_json:
        print_json(rows)
        return
    table = Table("name", "cron", "type", "agent", "enabled", "last tick")
    for row in rows:
        table.add_row(
            row["name"],
            row["cron"],
            row["task_type"],
            row["agent_name"],
            str(row["enabled"]),
            text(row["last_tick_at"]),
        )
    console.print(table)


@periodic_app.command("add")
def periodic_add(
    name: str = typer.Argument(..., help="Unique schedule name."),
    cron: str = typer.Option(..., "--cron", help="Cron expression (UTC), e.g. '*/15 * * * *'."),
    task_type: str = typer.Option(..., "--type", help="Task type to enqueue."),
    agent: str = typer.Option(..., "--agent", help="Agent that runs it."),
    payload: str = typer.Option("{}", "--payload", help="JSON object passed to the handler."),
    priority: int = typer.Option(1, "--priority", help="Higher runs first."),
) -> None:
    """Create or replace a periodic task."""
    task = PeriodicTask(name, cron, task_type, agent, _parse_payload(payload), priority)

    async def run(db: Database) -> int:
        async with db.transaction(actor="cli") as conn:
            return await upsert_periodic(conn, task)

    run_with_db(run)
    console.print(f"periodic task {name} saved ({cron})")


@periodic_app.command("remove")
def periodic_remove(name: str = typer.Argument(..., help="Schedule name.")) -> None:
    """Delete a periodic task."""

    async def run(db: Database) -> None:
        async with db.transaction(actor="cli") as conn:
            await remove_periodic(conn, name)

    run_with_db(run)
    console.print(f"periodic task {name} removed")


@periodic_app.command("enable")
def periodic_enable(name: str = typer.Argument(..., help="Schedule name.")) -> None:
    """Enable a periodic task."""
    _set_enabled(name, True)


@periodic_app.command("disable")
def periodic_disable(name: str = typer.Argument(..., help="Schedule name.")) -> None:
    """Disable a periodic task (its ticks are skipped)."""
    _set_enabled(name, False)


def _set_enabled(name: str, enabled: bool) -> None:

    async def run(db: Database) -> None:
        async with db.transaction(actor="cli") as conn:
            await set_periodic_enabled(conn, name, enabled)

    run_with_db(run)
    console.print(f"periodic task {name} {'enabled' if enabled else 'disabled'}")
