"""`aether backup ...`: full and incremental base backups with WAL archiving (point-in-time recovery),
logical dumps of an external database, verification by restore, retention.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from aether.cli.common import console, print_json
from aether.config import get_settings
from aether.errors import ValidationFailed
from aether.ops.backup import apply_retention, create_backup, list_backups
from aether.ops.catalogue import BackupStore
from aether.ops.restore import parse_time, restore, restore_logical, verify
from aether.ops.status import human_bytes

app = typer.Typer(
    help="Backups: full and incremental base backups with WAL archiving (point-in-time recovery), "
    "logical dumps of an external database, verification by restore.",
    no_args_is_help=True,
)


def _size(value: int | None) -> str:

    return human_bytes(value)


@app.command("create")
def backup_create(
    full: bool = typer.Option(False, "--full", help="A full base backup."),
    incremental: bool = typer.Option(False, "--incremental", help="An incremental backup on the newest backup."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Take a backup now (default: full when the last full is AETHER_BACKUP_FULL_INTERVAL_HOURS old, else
    incremental; logical pg_dump with AETHER_DATABASE_URL), copy it off-site, apply retention."""

    if full and incremental:
        raise ValidationFailed("--full and --incremental exclude each other", field="--full")
    result = create_backup(get_settings(), "full" if full else "incremental" if incremental else "auto")
    if as_json:
        print_json(
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


@app.command("list")
def backup_list(
    show_all: bool = typer.Option(False, "--all", help="Include backups removed by retention."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    """Backups on disk and in the catalogue, oldest first."""
    records, problem = list_backups(get_settings(), include_removed=show_all)
    if as_json:
        print_json([{**r.to_json(), "on_disk": r.on_disk} for r in records])
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


@app.command("verify")
def backup_verify(
    backup_id: str | None = typer.Argument(None, help="The backup to verify (default: the newest)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Check a backup's files (pg_verifybackup's checks), restore it into a scratch cluster, start it and
    compare the key tables' row counts with those recorded at backup time. Exit status 1 if it fails."""

    result = verify(get_settings(), backup_id)
    if as_json:
        print_json(asdict(result))
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


@app.command("restore")
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
        print_json(asdict(result))
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


@app.command("prune")
def backup_prune(as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout.")) -> None:
    """Apply retention now (AETHER_BACKUP_RETAIN_FULL full backups kept, with their incrementals and WAL)."""
    settings = get_settings()
    store = BackupStore(settings.home)
    with store.locked():
        result = apply_retention(settings, store)
    if as_json:
        print_json(asdict(result))
    else:
        console.print(
            f"removed {len(result.removed)} backups ({', '.join(result.removed) or 'none'}) and "
            f"{result.wal_removed} WAL files"
        )
