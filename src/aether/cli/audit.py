"""`aether audit`: the audit log, who changed what, when, from where."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from aether.cli.common import console, run_with_db, text
from aether.db import Database
from aether.security import audit as audit_log

app = typer.Typer(help="The audit log: who changed what, when, from where.")


@app.callback(invoke_without_command=True)
def audit(
    ctx: typer.Context,
    table: str | None = typer.Option(None, "--table", help="Only changes of this table."),
    actor: str | None = typer.Option(None, "--actor", help="Only this actor (user:7, cli:alice, system; 'user:*')."),
    action: str | None = typer.Option(None, "--action", help="insert, update or delete."),
    row_id: str | None = typer.Option(None, "--row-id", help="Only this row (its primary key)."),
    since: str | None = typer.Option(None, "--since", help="From this time: 30m, 12h, 7d, 2w ago, or ISO."),
    until: str | None = typer.Option(None, "--until", help="Before this time (same forms)."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="Most entries shown (newest first)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    """Show audit entries, newest first, filtered by table, actor, action, row and time."""
    if ctx.invoked_subcommand is not None:
        return

    flt = audit_log.AuditFilter(
        table=table,
        actor=actor,
        action=action,
        row_id=row_id,
        since=audit_log.parse_time(since, field="since"),
        until=audit_log.parse_time(until, field="until"),
        limit=limit,
    )
    audit_log.check_filter(flt)
    entries = run_with_db(lambda db: _search(db, flt))
    if as_json:
        print(json.dumps([e.to_dict() for e in entries]))
        return
    out = Table("id", "time (UTC)", "actor", "action", "table", "row", "changes")
    for e in entries:
        out.add_row(
            str(e.id),
            text(e.occurred_at),
            e.actor,
            e.action,
            e.table_name,
            e.row_id or "",
            _summarise(e.action, e.changes),
        )
    console.print(out)


async def _search(db: Database, flt: Any) -> list[Any]:

    async with db.connection(readonly=True) as conn:
        return await audit_log.search(conn, flt)


def _summarise(action: str, changes: dict[str, Any]) -> str:
    if action != "update":
        return ", ".join(sorted(changes))
    parts = []
    for column, change in sorted(changes.items()):
        if change.get("redacted"):
            parts.append(f"{column} (secret)")
        else:
            parts.append(f"{column}: {json.dumps(change.get('old'))} → {json.dumps(change.get('new'))}")
    return "; ".join(parts)
