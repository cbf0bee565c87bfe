"""Taking backups: physical base backups of the embedded server (full, or incremental on the previous
one), logical dumps of an external database; off-site copies; retention.

A physical backup is `pg_basebackup` in plain format with a SHA-256 manifest and the WAL it needs
streamed in. Right after it, the key tables are locked in SHARE mode for a moment (writers wait,
readers do not), counted, and a WAL marker is written; its LSN is the backup's `check_lsn`. Restoring
the backup and replaying the archive up to that LSN must give exactly those counts: that is what
`aether backup verify` checks. The WAL is then switched and the segment waited for in the archive, so
every backup is restorable on its own the moment `create` returns.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from aether.config import Settings
from aether.db import Connection
from aether.db.archive import WAL_FILE, prune_archive
from aether.db.connect import primary_url
from aether.db.embedded import EmbeddedServer
from aether.db.pool import connect
from aether.errors import OpsError, ValidationFailed
from aether.ops import pgtools
from aether.ops.catalogue import (
    BackupRecord,
    BackupStore,
    Q,
    catalogue_rows,
    merge,
    naive_utc,
    new_backup_id,
    upsert,
)
from aether.ops.manifest import load_manifest
from aether.ops.offsite import Offsite

log = logging.getLogger("aether.ops.backup")

Kind = Literal["auto", "full", "incremental"]

# Tables whose row counts each backup records and each verification compares.
KEY_TABLES: tuple[str, ...] = (
    "agents",
    "tasks",
    "credentials",
    "assets",
    "analytics",
    "users",
    "subscribers",
    "workflow_instances",
    "task_instances",
    "topics_snippets",
    "generated_scripts",
)

ARCHIVE_WAIT_S = 300.0
_START_WAL = re.compile(r"START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)")


@dataclass
class RetentionResult:
    removed: list[str] = field(default_factory=list)
    wal_removed: int = 0
    offsite_removed: int = 0


@dataclass
class OffsiteResult:
    url: str
    backups_copied: list[str] = field(default_factory=list)
    wal_copied: int = 0
    error: str | None = None


@dataclass
class CreateResult:
    record: BackupRecord
    duration_s: float
    offsite: OffsiteResult | None
    retention: RetentionResult
    notes: list[str] = field(default_factory=list)


def utcnow() -> datetime:
    return datetime.now(UTC)


def libpq_args(url: str) -> tuple[str, dict[str, str]]:
    """A conninfo for PostgreSQL's programs with the password moved to PGPASSWORD (never on argv)."""
    params = conninfo_to_dict(url)
    env: dict[str, str] = {}
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


# ---- create -----------------------------------------------------------------------------------


def create_backup(settings: Settings, kind: Kind = "auto") -> CreateResult:
    """Take a backup now: physical on the embedded server, logical (pg_dump) on an external one."""
    started = time.perf_counter()
    store = BackupStore(settings.home)
    notes: list[str] = []
    with store.locked():
        if settings.embedded:
            record = _create_physical(settings, store, kind, notes)
        else:
            if kind == "incremental":
                raise ValidationFailed(
                    "--incremental needs the embedded server (WAL summaries); with AETHER_DATABASE_URL Aether "
                    "takes logical pg_dump backups — use pgBackRest or Barman for incremental and PITR there",
                    field="--incremental",
                )
            record = _create_logical(settings, store)
        duration = time.perf_counter() - started
        offsite = push_offsite(settings, store) if settings.backup_offsite_url else None
        retention = apply_retention(settings, store)
    return CreateResult(record, duration, offsite, retention, notes)


def _create_physical(settings: Settings, store: BackupStore, requested: Kind, notes: list[str]) -> BackupRecord:
    server = EmbeddedServer(settings.home)
    url = server.ensure_running()
    with connect(url, settings, autocommit=True, application="aether-backup") as conn:
        ident = conn.execute(Q.server_identity).fetchone()
        assert ident is not None
        if ident["archive_mode"] == "off":
            raise OpsError(
                "WAL archiving is off on the embedded server (it was started before archiving was set up): "
                "run `aether db stop` and `aether db start`, then back up again"
            )
        system_id = str(ident["system_identifier"])
        archive = store.wal_dir(system_id)
        sync_history_files(server.pgdata, archive)
        done = [
            r for r in store.records() if r.physical and r.status == "completed" and r.system_identifier == system_id
        ]
        kind, parent = choose_kind(requested, done, int(ident["timeline"]), settings)
        try:
            return _base_backup(conn, url, store, kind, parent, ident, archive)
        except OpsError as exc:
            if requested != "auto" or kind != "incremental":
                raise
            notes.append(f"incremental backup failed ({exc.message}); took a full backup instead")
            log.warning("incremental backup failed, taking a full one: %s", exc.message)
            return _base_backup(conn, url, store, "full", None, ident, archive)


def choose_kind(
    requested: Kind, done: list[BackupRecord], timeline: int, settings: Settings
) -> tuple[str, BackupRecord | None]:
    """Which backup to take, and the backup an incremental one builds on."""
    if requested == "full":
        return "full", None
    usable = [r for r in done if r.timeline == timeline and (r.data_dir / "backup_manifest").exists()]
    latest = usable[-1] if usable else None
    if requested == "incremental":
        if latest is None:
            raise ValidationFailed(
                "--incremental: no completed backup of this server's current timeline to build on: "
                "run `aether backup create --full` first",
                field="--incremental",
            )
        return "incremental", latest
    fulls = [r for r in usable if r.kind == "full"]
    interval = timedelta(hours=settings.backup_full_interval_hours)
    if latest is None or not fulls or fulls[-1].finished_at is None or utcnow() - fulls[-1].finished_at >= interval:
        return "full", None
    return "incremental", latest


def _base_backup(
    conn: Connection,
    url: str,
    store: BackupStore,
    kind: str,
    parent: BackupRecord | None,
    ident: dict[str, Any],
    archive: Path,
) -> BackupRecord:
    started_at = utcnow()
    backup_id = new_backup_id(kind, started_at)
    directory = store.base_dir(backup_id)
    directory.mkdir(parents=True, mode=0o700)
    record = BackupRecord(
        id=backup_id,
        kind=kind,
        status="running",
        location=str(directory),
        parent_id=parent.id if parent else None,
        database=str(ident["database"]),
        server_version=str(ident["server_version"]),
        system_identifier=str(ident["system_identifier"]),
        timeline=int(ident["timeline"]),
        started_at=started_at,
    )
    _catalogue(conn, Q.insert_backup, _insert_params(record))
    try:
        conninfo, env = libpq_args(url)
        args = [
            "-d",
            conninfo,
            "-D",
            str(record.data_dir),
            "--format=plain",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--manifest-checksums=SHA256",
            f"--label=aether {backup_id}",
        ]
        if parent is not None:
            args.append(f"--incremental={parent.data_dir / 'backup_manifest'}")
        pgtools.run("pg_basebackup", args, env=env)
        manifest = load_manifest(record.data_dir)
        ranges = manifest.get("WAL-Ranges") or []
        if ranges:
            record.start_lsn = str(ranges[0]["Start-LSN"])
            record.end_lsn = str(ranges[-1]["End-LSN"])
            record.timeline = int(ranges[-1]["Timeline"])
        if manifest.get("System-Identifier") is not None:
            record.system_identifier = str(manifest["System-Identifier"])
        label = (record.data_dir / "backup_label").read_text()
        match = _START_WAL.search(label)
        record.start_wal = match.group(1) if match else None
        record.row_counts, record.check_lsn = count_rows(conn, backup_id)
        walfile = conn.execute(Q.switch_wal).fetchone()
        assert walfile is not None
        wait_archived(conn, archive, str(walfile["walfile"]))
        record.finished_at = utcnow()
        record.size_bytes = pgtools.dir_size(directory)
        record.status = "completed"
        store.write(record)
        _catalogue(conn, Q.complete_backup, _complete_params(record))
    except BaseException as exc:
        shutil.rmtree(directory, ignore_errors=True)
        message = exc.message if isinstance(exc, OpsError) else f"{type(exc).__name__}: {exc}"
        _catalogue(conn, Q.fail_backup, {"id": backup_id, "error": message[:2000]})
        raise
    record.on_disk = True
    return record


def count_rows(conn: Connection, marker: str) -> tuple[dict[str, int], str]:
    """Key tables' row counts and a WAL position at which exactly these counts hold.

    SHARE locks wait for running writers to commit and hold new ones off; while they are held a logical
    message is written to the WAL, and its LSN is returned. Recovery stopped there sees these counts.
    """
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '60s'")
        tables = existing_tables(conn, KEY_TABLES)
        if tables:
            conn.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(sql.SQL(", ").join(map(sql.Identifier, tables))))
        counts = table_counts(conn, tables)
        row = conn.execute(
            "SELECT pg_logical_emit_message(false, 'aether.backup', %s)::TEXT AS lsn", (marker,)
        ).fetchone()
    assert row is not None
    return counts, str(row["lsn"])


def existing_tables(conn: Connection, names: tuple[str, ...]) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM unnest(%s::TEXT[]) AS name WHERE to_regclass(quote_ident(name)) IS NOT NULL",
        (list(names),),
    ).fetchall()
    return [str(row["name"]) for row in rows]


def table_counts(conn: Connection, tables: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in tables:
        row = conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(table))).fetchone()
        assert row is not None
        counts[table] = int(row["n"])
    return counts


def wait_archived(conn: Connection, archive: Path, walfile: str, *, timeout: float = ARCHIVE_WAIT_S) -> None:
    """Wait until `walfile` is in the archive (the archiver works asynchronously)."""
    deadline = time.monotonic() + timeout
    while not (archive / walfile).exists():
        if time.monotonic() > deadline:
            row = conn.execute(Q.archiver_status).fetchone()
            failure = ""
            if row is not None and row["last_failed_wal"]:
                failure = f"; the archiver last failed on {row['last_failed_wal']} at {row['last_failed_time']}"
            raise OpsError(
                f"WAL segment {walfile} did not reach the archive {archive} within {timeout:.0f} s{failure} "
                "(see the server log in AETHER_HOME/pgdata/log)"
            )
        time.sleep(0.05)


def sync_history_files(pgdata: Path, archive: Path) -> list[str]:
    """Archive the live cluster's timeline history files (after a restore was switched in, the new
    timeline's history was written while archiving was off)."""
    copied: list[str] = []
    wal_dir = pgdata / "pg_wal"
    if not wal_dir.is_dir() or not archive.is_dir():
        return copied
    for path in sorted(wal_dir.glob("*.history")):
        target = archive / path.name
        if not target.exists():
            tmp = archive / f".{path.name}.tmp"
            shutil.copyfile(path, tmp)
            tmp.replace(target)
            copied.append(path.name)
    return copied


def _create_logical(settings: Settings, store: BackupStore) -> BackupRecord:
    url = primary_url(settings)
    started_at = utcnow()
    backup_id = new_backup_id("logical", started_at)
    directory = store.logical_dir(backup_id)
    with connect(url, settings, autocommit=True, application="aether-backup") as conn:
        ident = conn.execute(
            "SELECT current_setting('server_version') AS server_version, current_database() AS database"
        ).fetchone()
        assert ident is not None
        directory.mkdir(parents=True, mode=0o700)
        record = BackupRecord(
            id=backup_id,
            kind="logical",
            status="running",
            location=str(directory),
            database=str(ident["database"]),
            server_version=str(ident["server_version"]),
            started_at=started_at,
        )
        _catalogue(conn, Q.insert_backup, _insert_params(record))
        try:
            with connect(url, settings, application="aether-backup") as snap:
                snap.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                exported = snap.execute(Q.export_snapshot).fetchone()
                assert exported is not None
                record.row_counts = table_counts(snap, existing_tables(snap, KEY_TABLES))
                conninfo, env = libpq_args(url)
                pgtools.run(
                    "pg_dump",
                    [
                        "--format=custom",
                        f"--snapshot={exported['snapshot']}",
                        f"--file={record.dump_file}",
                        "--dbname",
                        conninfo,
                    ],
                    env=env,
                )
                snap.rollback()
            pgtools.run("pg_restore", ["--list", str(record.dump_file)], what="pg_restore --list")
            record.finished_at = utcnow()
            record.size_bytes = pgtools.dir_size(directory)
            record.status = "completed"
            store.write(record)
            _catalogue(conn, Q.complete_backup, _complete_params(record))
        except BaseException as exc:
            shutil.rmtree(directory, ignore_errors=True)
            message = exc.message if isinstance(exc, OpsError) else f"{type(exc).__name__}: {exc}"
            _catalogue(conn, Q.fail_backup, {"id": backup_id, "error": message[:2000]})
            raise
    record.on_disk = True
    return record


def _insert_params(record: BackupRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "parent_id": record.parent_id,
        "location": record.location,
        "server_version": record.server_version,
        "system_identifier": record.system_identifier,
        "timeline": record.timeline,
        "started_at": naive_utc(record.started_at),
    }


def _complete_params(record: BackupRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "finished_at": naive_utc(record.finished_at),
        "start_lsn": record.start_lsn,
        "end_lsn": record.end_lsn,
        "start_wal": record.start_wal,
        "check_lsn": record.check_lsn,
        "size_bytes": record.size_bytes,
        "row_counts": Jsonb(record.row_counts),
        "timeline": record.timeline,
        "system_identifier": record.system_identifier,
    }


def _catalogue(conn: Connection, query: str, params: dict[str, Any]) -> None:
    """Write the catalogue. The files on disk are the record a restore trusts, so a catalogue that cannot
    be written (no migration 0008 yet, a connection lost while failing) is logged, never fatal."""
    try:
        conn.execute(query, params)
    except psycopg.errors.UndefinedTable:
        log.warning("the backups table does not exist yet (run `aether db migrate`); catalogue entry skipped")
    except psycopg.Error as exc:
        log.warning("could not write the backup catalogue: %s", exc)


# ---- list -------------------------------------------------------------------------------------


def list_backups(settings: Settings, *, include_removed: bool = False) -> tuple[list[BackupRecord], str | None]:
    """Backups on disk merged with the catalogue; the second value says why the catalogue was not read."""
    store = BackupStore(settings.home)
    disk = store.records()
    try:
        with connect(primary_url(settings), settings, autocommit=True, application="aether-backup") as conn:
            rows = catalogue_rows(conn, include_removed=include_removed)
            known = {r.id for r in rows}
            for record in disk:
                if record.id not in known and record.status == "completed":
                    upsert(conn, record)
    except (OpsError, psycopg.Error) as exc:
        return disk, f"catalogue not read: {exc}"
    except Exception as exc:  # DatabaseUnavailable and friends: list what is on disk
        return disk, f"catalogue not read: {exc}"
    return merge(disk, rows), None


# ---- off-site -----------------------------------------------------------------------------------


def push_offsite(settings: Settings, store: BackupStore) -> OffsiteResult:
    """Copy every local backup the off-site location lacks (backup.json last: it marks a whole copy),
    then the archived WAL it lacks."""
    url = settings.backup_offsite_url
    assert url is not None
    result = OffsiteResult(url=url)
    try:
        offsite = Offsite(url)
        records = [r for r in store.records() if r.status == "completed"]
        present: set[str] = set()
        for sub in ("base", "logical"):
            present |= {k for k in offsite.keys(sub) if k.endswith("/backup.json")}
        for record in records:
            sub = "logical" if record.kind == "logical" else "base"
            prefix = f"{sub}/{record.id}"
            if f"{prefix}/backup.json" in present:
                continue
            for path in sorted(record.path.rglob("*")):
                if path.is_file() and path.name != "backup.json" and not path.is_symlink():
                    offsite.put_file(f"{prefix}/{path.relative_to(record.path).as_posix()}", path)
            offsite.put_file(f"{prefix}/backup.json", record.path / "backup.json")
            result.backups_copied.append(record.id)
        wal_root = store.root / "wal"
        if wal_root.is_dir():
            for archive in sorted(wal_root.iterdir()):
                if archive.is_dir():
                    result.wal_copied += offsite.push_wal(archive.name, archive)
    except (OpsError, ValidationFailed) as exc:
        result.error = exc.message
        log.error("off-site copy to %s failed: %s", url, exc.message)
        return result
    _mark_offsite(settings, result)
    return result


def _mark_offsite(settings: Settings, result: OffsiteResult) -> None:
    if not result.backups_copied:
        return
    try:
        with connect(primary_url(settings), settings, autocommit=True, application="aether-backup") as conn:
            for backup_id in result.backups_copied:
                _catalogue(conn, Q.mark_offsite, {"id": backup_id, "offsite_url": result.url})
    except Exception as exc:
        log.warning("could not record the off-site copies in the catalogue: %s", exc)


# ---- retention ----------------------------------------------------------------------------------


def apply_retention(settings: Settings, store: BackupStore | None = None) -> RetentionResult:
    """Keep the newest AETHER_BACKUP_RETAIN_FULL full backups with every backup taken after the oldest
    of them (their incrementals); remove older backups, and archived WAL older than the oldest backup
    kept. Logical dumps: the newest AETHER_BACKUP_RETAIN_FULL are kept."""
    store = store or BackupStore(settings.home)
    keep = settings.backup_retain_full
    result = RetentionResult()
    records = store.records()
    physical = [r for r in records if r.physical]
    fulls = [r for r in physical if r.kind == "full" and r.status == "completed"]
    doomed: list[BackupRecord] = []
    if len(fulls) > keep:
        oldest_kept = fulls[-keep]
        doomed += [r for r in physical if _before(r, oldest_kept)]
    logical = [r for r in records if r.kind == "logical" and r.status == "completed"]
    if len(logical) > keep:
        doomed += [r for r in records if r.kind == "logical" and _before(r, logical[-keep])]
    for record in doomed:
        shutil.rmtree(record.path, ignore_errors=True)
        result.removed.append(record.id)
    kept = [r for r in physical if r.id not in set(result.removed) and r.status == "completed"]
    oldest_wal: dict[str, str] = {}
    for record in kept:
        if record.system_identifier and record.start_wal:
            current = oldest_wal.get(record.system_identifier)
            if current is None or record.start_wal[8:] < current[8:]:
                oldest_wal[record.system_identifier] = record.start_wal
    for system_id, start_wal in oldest_wal.items():
        result.wal_removed += len(prune_archive(store.wal_dir(system_id), start_wal))
    wal_root = store.root / "wal"
    if kept and wal_root.is_dir():
        for archive in wal_root.iterdir():
            if archive.is_dir() and archive.name not in oldest_wal:
                # a cluster with no backup left (one initialised anew since): its WAL restores nothing
                result.wal_removed += len(prune_archive(archive, "F" * 24))
    if settings.backup_offsite_url and (result.removed or oldest_wal):
        try:
            offsite = Offsite(settings.backup_offsite_url)
            for record in doomed:
                sub = "logical" if record.kind == "logical" else "base"
                result.offsite_removed += offsite.delete_prefix(f"{sub}/{record.id}")
            for system_id, start_wal in oldest_wal.items():
                result.offsite_removed += offsite.prune_wal(system_id, start_wal)
        except (OpsError, ValidationFailed) as exc:
            log.error("off-site retention at %s failed: %s", settings.backup_offsite_url, exc.message)
    if result.removed:
        try:
            with connect(primary_url(settings), settings, autocommit=True, application="aether-backup") as conn:
                _catalogue(conn, Q.mark_removed, {"ids": result.removed})
        except Exception as exc:
            log.warning("could not mark removed backups in the catalogue: %s", exc)
    return result


def _before(record: BackupRecord, pivot: BackupRecord) -> bool:
    never = datetime.min.replace(tzinfo=UTC)
    return (record.started_at or never, record.id) < (pivot.started_at or never, pivot.id)


def wal_files(archive: Path) -> list[str]:
    return sorted(p.name for p in archive.iterdir() if WAL_FILE.match(p.name)) if archive.is_dir() else []
