"""`aether maintenance ...`: statistics, vacuum, reindex, pruning, partitions, log rotation."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from aether.cli.common import console, current_schema_settings, print_json
from aether.db.connect import primary_url
from aether.db.pool import connect
from aether.ops.maintenance import JOBS, last_runs, run_jobs

app = typer.Typer(
    help="Maintenance jobs: statistics, vacuum, reindex, pruning, partitions, log rotation.", no_args_is_help=True
)


@app.command("run")
def maintenance_run(
    job: str | None = typer.Argument(None, help="One job (see `aether maintenance list`); default: all routine jobs."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    """Run maintenance now; every run is recorded with its duration and outcome. Exit 1 if one failed."""
    records = run_jobs(current_schema_settings(), [job] if job else None)
    if as_json:
        print_json([r.to_json() for r in records])
    else:
        for r in records:
            extra = r.error or r.detail.get("reason") or ", ".join(f"{k}={v}" for k, v in r.detail.items())
            console.print(f"{r.job}: {r.outcome} in {(r.duration_ms or 0) / 1000:.2f} s  {extra}")
    if any(r.outcome == "failed" for r in records):
        raise typer.Exit(1)


@app.command("list")
def maintenance_list(as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout.")) -> None:
    """Every job with its schedule and its last run."""
    settings = current_schema_settings()
    with connect(primary_url(settings), settings, autocommit=True, application="aether-maintenance") as conn:
        last = last_runs(conn)
    rows: list[dict[str, Any]] = [
        {
            "job": spec.name,
            "schedule": spec.schedule,
            "description": spec.description,
            "last_run": last[spec.name].to_json() if spec.name in last else None,
        }
        for spec in JOBS.values()
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("job", "schedule (cron, UTC)", "last run", "outcome", "duration", "what it does")
    for row in rows:
        run = row["last_run"]
        table.add_row(
            row["job"],
            row["schedule"],
            run["started_at"][:19] if run else "never",
            run["outcome"] if run else "-",
            f"{run['duration_ms'] / 1000:.2f} s" if run and run["duration_ms"] is not None else "-",
            row["description"],
        )
    console.print(table)
