"""`aether backup ...`, `aether maintenance ...`, `aether status` and `aether credentials review`."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from aether.config import get_settings
from aether.db.connect import primary_url
from aether.db.pool import connect
from aether.errors import ValidationFailed

backup_app = typer.Typer(
    help="Backups: full and incremental base backups with WAL archiving (point-in-time recovery), "
    "logical dumps of an external database, verification by restore.",
    no_args_is_help=True,
)
maintenance_app = typer.Typer(
    help="Maintenance jobs: statistics, vacuum, reindex, pruning, partitions, log rotation.", no_args_is_help=True
)
console = Console()


def _dump(value: Any) -> None:
    print(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _size(value: int | None) -> str:
    from aether.ops.status import human_bytes

    return human_bytes(value)


# ---- backup ------------------------------------------------------------------------------------


@backup_app.command("create")
def backup_create(
    full: bool = typer.Option(False, "--full", help="A full base backup."),
    incremental: bool = typer.Option(False, "--incremental", help="An incremental backup on the newest backup."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Take a backup now (default: full when the last full is AETHER_BACKUP_FULL_INTERVAL_HOURS old, else
    incremental; logical pg_dump with AETHER_DATABASE_URL), copy it off-site, apply retention."""
    from aether.ops.backup import create_backup

    if full and incremental:
        raise ValidationFailed("--full and --incremental exclude each other", field="--full")
    result = create_backup(get_settings(), "full" if full else "incremental" if incremental else "auto")
    if as_json:
        _dump(
            {
                "backup": result.record.to_json(),
                "duration_s": round(result.duration_s, 3),
                "offsite": asdict(result.offsite) if result.offsite else None,
                "retention": asdict(result.retention),
                "notes": result.notes,
            }
        )
    else:
        record = result.record
        console.print(
            f"backup {record.id}: {record.kind}, {_size(record.size_bytes)} in {result.duration_s:.1f} s"
            + (f" (on {record.parent_id})" if record.parent_id else "")
        )
        console.print(f"  at {record.location}")
        for note in result.notes:
            console.print(f"  note: {note}")
        if result.offsite:
            if result.offsite.error:
                console.print(f"  off-site copy to {result.offsite.url} FAILED: {result.offsite.error}")
            else:
                console.print(
                    f"  off-site: {len(result.offsite.backups_copied)} backups and "
                    f"{result.offsite.wal_copied} WAL files copied to {result.offsite.url}"
                )
        if result.retention.removed or result.retention.wal_removed:
            console.print(
                f"  retention removed {len(result.retention.removed)} backups and "
                f"{result.retention.wal_removed} WAL files"
            )
    if result.offsite and result.offsite.error:
        raise typer.Exit(1)


@backup_app.command("list")
def backup_list(
    show_all: bool = typer.Option(False, "--all", help="Include backups removed by retention."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    """Backups on disk and in the catalogue, oldest first."""
    from aether.ops.backup import list_backups

    records, problem = list_backups(get_settings(), include_removed=show_all)
    if as_json:
        _dump([{**r.to_json(), "on_disk": r.on_disk} for r in records])
        return
    if problem:
        console.print(f"[yellow]{problem}; listing what is on disk[/yellow]")
    table = Table("id", "kind", "status", "size", "finished", "verified", "off-site")
    for r in records:
        table.add_row(
            r.id,
            r.kind,
            r.status if r.on_disk or r.status == "removed" else f"{r.status} (not on disk)",
            _size(r.size_bytes),
            r.finished_at.strftime("%Y-%m-%d %H:%M:%S") if r.finished_at else "-",
            r.verify_status or "-",
            "yes" if r.offsite_copied_at else "-",
        )
    console.print(table)


@backup_app.command("verify")
def backup_verify(
    backup_id: str | None = typer.Argument(None, help="The backup to verify (default: the newest)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Check a backup's files (pg_verifybackup's checks), restore it into a scratch cluster, start it and
    compare the key tables' row counts with those recorded at backup time. Exit status 1 if it fails."""
    from aether.ops.restore import verify

    result = verify(get_settings(), backup_id)
    if as_json:
        _dump(asdict(result))
    else:
        console.print(f"backup {result.backup_id} ({result.kind}): {'PASSED' if result.passed else 'FAILED'}")
        for check in result.manifest:
            console.print(f"  files of {check['backup']}: {'ok' if check['ok'] else 'BAD'} ({check['tool']})")
        for table, expected in result.expected.items():
            found = result.found.get(table)
            console.print(f"  {table}: {found if found is not None else '-'} rows restored, {expected} expected")
        for problem in result.problems:
            console.print(f"  problem: {problem}")
        console.print(f"  took {result.duration_s:.1f} s")
    if not result.passed:
        raise typer.Exit(1)


@backup_app.command("restore")
def backup_restore(
    to: str | None = typer.Option(
        None, "--to", help="Recover to this time (ISO 8601, e.g. '2026-11-21 10:00:00+00'; UTC if no offset)."
    ),
    target: Path | None = typer.Option(None, "--target", help="New data directory to restore into (embedded)."),
    target_url: str | None = typer.Option(
        None, "--target-url", help="Empty database to restore a logical backup into."
    ),
    backup_id: str | None = typer.Option(None, "--backup", help="Restore this backup (default: the right one)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Point-in-time recovery into a new data directory (the live server is left alone), or a logical
    backup into an empty database with --target-url; then says how to switch to it."""
    from aether.ops.restore import parse_time, restore, restore_logical

    settings = get_settings()
    if target is not None and target_url is not None:
        raise ValidationFailed("--target and --target-url exclude each other", field="--target")
    if target_url is not None:
        if to is not None:
            raise ValidationFailed(
                "--to: a logical backup restores the moment it was taken; point-in-time recovery of an external "
                "database needs WAL archiving by pgBackRest or Barman (see the README)",
                field="--to",
            )
        result = restore_logical(settings, target_url=target_url, backup_id=backup_id)
    else:
        if target is None:
            raise ValidationFailed("--target DIR is required: the new data directory to restore into", field="--target")
        result = restore(settings, target=target, to=parse_time(to), backup_id=backup_id)
    if as_json:
        _dump(asdict(result))
        return
    console.print(
        f"restored backup {result.backup_id} (chain: {' + '.join(result.chain)}) into {result.target} "
        f"in {result.duration_s:.1f} s"
    )
    if result.recovered_to:
        console.print(f"  the last transaction restored committed at {result.recovered_to.isoformat()}")
    console.print("  to switch to it:")
    for step in result.next_steps:
        console.print(f"    {step}")


@backup_app.command("prune")
def backup_prune(as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout.")) -> None:
    """Apply retention now (AETHER_BACKUP_RETAIN_FULL full backups kept, with their incrementals and WAL)."""
    from aether.ops.backup import apply_retention
    from aether.ops.catalogue import BackupStore

    settings = get_settings()
    store = BackupStore(settings.home)
    with store.locked():
        result = apply_retention(settings, store)
    if as_json:
        _dump(asdict(result))
    else:
        console.print(
            f"removed {len(result.removed)} backups ({', '.join(result.removed) or 'none'}) and "
            f"{result.wal_removed} WAL files"
        )


# ---- maintenance -------------------------------------------------------------------------------


@maintenance_app.command("run")
def maintenance_run(
    job: str | None = typer.Argument(None, help="One job (see `aether maintenance list`); default: all routine jobs."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    """Run maintenance now; every run is recorded with its duration and outcome. Exit 1 if one failed."""
    from aether.ops.maintenance import run_jobs

    records = run_jobs(get_settings(), [job] if job else None)
    if as_json:
        _dump([r.to_json() for r in records])
    else:
        for r in records:
            extra = r.error or r.detail.get("reason") or ", ".join(f"{k}={v}" for k, v in r.detail.items())
            console.print(f"{r.job}: {r.outcome} in {(r.duration_ms or 0) / 1000:.2f} s  {extra}")
    if any(r.outcome == "failed" for r in records):
        raise typer.Exit(1)


@maintenance_app.command("list")
def maintenance_list(as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout.")) -> None:
    """Every job with its schedule and its last run."""
    from aether.ops.maintenance import JOBS, last_runs

    settings = get_settings()
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
        _dump(rows)
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


# ---- status ------------------------------------------------------------------------------------


def status(
    once: bool = typer.Option(False, "--once", help="Print the dashboard once and exit."),
    as_json: bool = typer.Option(False, "--json", help="The figures as one JSON object, once."),
    interval: float = typer.Option(2.0, "--interval", min=0.2, help="Seconds between refreshes."),
) -> None:
    """A live dashboard: database, pools, queue, tasks, workflows, backups, maintenance, disk."""
    from aether.ops import status as dashboard

    settings = get_settings()
    if as_json:
        _dump(dashboard.take_snapshot(settings).to_json())
        return
    if once:
        console.print(dashboard.render(dashboard.take_snapshot(settings)))
        return
    dashboard.live(settings, interval, console)


# ---- credentials review ------------------------------------------------------------------------


def credentials_review(
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    mark_reviewed: bool = typer.Option(False, "--mark-reviewed", help="Record that the review was done."),
) -> None:
    """After a restore: the credentials to re-issue (changed, issued or removed after the backup, or
    expired). Only metadata is read, never a value."""
    from aether.ops.review import review_credentials

    settings = get_settings()
    with connect(primary_url(settings), settings, autocommit=True, application="aether-review") as conn:
        review = review_credentials(conn, mark_reviewed=mark_reviewed)
    if as_json:
        _dump(review.to_json())
        return
    if review.restore:
        console.print(
            f"restore of backup {review.restore['backup_id']} on {review.restore['restored_at']} "
            f"(data as of {review.restore['recovered_to'] or review.restore['target_time'] or 'the backup'})"
        )
    for note in review.notes:
        console.print(f"note: {note}")
    if not review.items:
        console.print("no credential needs re-issuing")
        return
    table = Table("id", "agent", "platform", "key", "why", "what to do", "expires", "updated")
    for item in review.items:
        table.add_row(
            str(item.credential_id),
            item.agent or "(shared)",
            item.platform,
            item.credential_key,
            item.reason,
            item.action,
            (item.expires_at or "-")[:19],
            (item.updated_at or "-")[:19],
        )
    console.print(table)
