"""`aether db ...`: the embedded server, migrations, a psql shell."""

from __future__ import annotations

import json
import os

import typer
from rich.console import Console
from rich.table import Table

from aether.config import get_settings, mask_url
from aether.db import migrate as migrations
from aether.db.connect import primary_url
from aether.db.embedded import EmbeddedServer, pg_binary
from aether.db.pool import connect, describe_target

app = typer.Typer(help="The database: embedded server, migrations, psql.", no_args_is_help=True)
console = Console()


@app.command()
def start() -> None:
    """Start the embedded PostgreSQL server (no-op when it already runs or when AETHER_DATABASE_URL is set)."""
    settings = get_settings()
    if not settings.embedded:
        console.print(f"external database {describe_target(primary_url(settings, start=False))}: nothing to start")
        return
    url = EmbeddedServer(settings.home).ensure_running()
    console.print(f"embedded PostgreSQL running: {url}")


@app.command()
def stop() -> None:
    """Stop the embedded server cleanly (fast shutdown with a checkpoint)."""
    settings = get_settings()
    if not settings.embedded:
        console.print("external database: Aether does not stop it")
        return
    stopped = EmbeddedServer(settings.home).stop()
    console.print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


@app.command()
def url(
    start_server: bool = typer.Option(True, "--start/--no-start", help="Start the embedded server."),
) -> None:
    """Print the database URL (password masked)."""
    print(mask_url(primary_url(get_settings(), start=start_server)))


@app.command()
def migrate() -> None:
    """Apply pending migrations (safe to run from several processes at once)."""
    settings = get_settings()
    with connect(primary_url(settings), settings, autocommit=True) as conn:
        applied = migrations.migrate(conn)
    for migration in applied:
        console.print(f"applied {migration.filename}")
    console.print(f"schema is current ({len(migrations.discover())} migrations)")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout.")) -> None:
    """Show the server and every migration: applied, pending or modified."""
    settings = get_settings()
    server: dict[str, object]
    if settings.embedded:
        st = EmbeddedServer(settings.home).status()
        server = {"kind": "embedded", "running": st.running, "pid": st.pid, "pgdata": str(st.pgdata)}
    else:
        server = {"kind": "external", "target": describe_target(primary_url(settings, start=False))}
    with connect(primary_url(settings), settings, autocommit=True) as conn:
        states = migrations.status(conn)
        version = conn.execute("SHOW server_version").fetchone()
    server["server_version"] = version["server_version"] if version else None
    rows = [
        {
            "version": s.migration.version,
            "name": s.migration.name,
            "status": s.status,
            "applied_at": s.applied_at.isoformat() if s.applied_at else None,
        }
        for s in states
    ]
    if as_json:
        print(json.dumps({"server": server, "migrations": rows}))
    else:
        console.print(" ".join(f"{k}={v}" for k, v in server.items()))
        table = Table("version", "name", "status", "applied at")
        for row in rows:
            table.add_row(f"{row['version']:04d}", str(row["name"]), str(row["status"]), str(row["applied_at"] or "-"))
        console.print(table)
    if any(s.status == "modified" for s in states):
        raise typer.Exit(1)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def psql(ctx: typer.Context) -> None:
    """Open psql (the one shipped with the embedded server) on the database; extra arguments pass through."""
    target = primary_url(get_settings())
    program = str(pg_binary("psql"))
    os.execv(program, [program, target, *ctx.args])
