"""Point-in-time recovery into a new data directory, logical restores, and backup verification.

A physical restore picks the newest backup finished before the target time, rebuilds its data
directory (a copy of a full backup, or `pg_combinebackup` of the full backup and its incrementals),
and runs recovery right away on a private socket: WAL comes from the archive, recovery stops at the
target, the server is promoted and stopped cleanly. The directory is then a ready cluster; switching
to it is two `mv` commands that the result spells out. The live server is never touched.

Verification restores a backup the same way into a scratch directory, stopping exactly where the
backup counted its key tables, starts it and compares the counts.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from aether.config import Settings
from aether.db.archive import conf_quote, restore_command
from aether.db.connect import primary_url
from aether.db.embedded import EmbeddedServer
from aether.db.pool import connect
from aether.errors import OpsError, ValidationFailed
from aether.ops import pgtools
from aether.ops.backup import (
    existing_tables,
    libpq_args,
    table_counts,
    utcnow,
    wait_archived,
)
from aether.ops.catalogue import BackupRecord, BackupStore, Q, as_utc, chain, naive_utc
from aether.ops.manifest import ManifestCheck, verify_backup_dir
from aether.ops.pgtools import ScratchCluster, started

log = logging.getLogger("aether.ops.restore")

CREDENTIAL_COLUMNS = "id, agent_id, platform, credential_key, expires_at, updated_at"


@dataclass
class RestoreResult:
    backup_id: str
    chain: list[str]
    target: str
    target_time: datetime | None
    recovered_to: datetime | None
    duration_s: float
    credentials_snapshot: bool
    next_steps: list[str] = field(default_factory=list)


@dataclass
class VerifyResult:
    backup_id: str
    kind: str
    passed: bool
    manifest: list[dict[str, Any]] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    duration_s: float = 0.0


def parse_time(value: str | None, field_name: str = "--to") -> datetime | None:
    """An ISO 8601 time; without an offset it is taken as UTC (Aether keeps every time in UTC)."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(
            f"{field_name} must be an ISO 8601 time such as '2026-11-21 10:00:00+00' (got {value!r})",
            field=field_name,
        ) from None
    return as_utc(parsed)


# ---- choosing ----------------------------------------------------------------------------------


def physical_backups(store: BackupStore) -> list[BackupRecord]:
    return [r for r in store.records() if r.physical and r.status == "completed"]


def choose_backup(records: list[BackupRecord], to: datetime | None, backup_id: str | None) -> BackupRecord:
    if not records:
        raise OpsError("there is no completed backup to restore from (aether backup create makes one)")
    if backup_id is not None:
        pick = next((r for r in records if r.id == backup_id), None)
        if pick is None:
            raise ValidationFailed(f"--backup: no completed backup {backup_id!r} on disk", field="--backup")
        if to is not None and pick.finished_at is not None and pick.finished_at > to:
            raise ValidationFailed(
                f"--backup: {backup_id} finished at {pick.finished_at.isoformat()}, after --to {to.isoformat()}",
                field="--backup",
            )
        return pick
    candidates = [r for r in records if to is None or (r.finished_at is not None and r.finished_at <= to)]
    if not candidates:
        oldest = min((r.finished_at for r in records if r.finished_at), default=None)
        raise ValidationFailed(
            f"--to {to.isoformat() if to else ''} is before the first restorable moment "
            f"(the oldest backup finished at {oldest.isoformat() if oldest else 'unknown'})",
            field="--to",
        )
    return candidates[-1]


# ---- physical ----------------------------------------------------------------------------------


def check_target(target: Path, settings: Settings) -> Path:
    target = target.expanduser().resolve()
    if target == settings.pgdata or settings.pgdata in target.parents:
        raise ValidationFailed(
            f"--target must not be the live data directory {settings.pgdata} (restore elsewhere, then switch)",
            field="--target",
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValidationFailed(f"--target {target} must be a new or empty directory", field="--target")
    return target


def restore(
    settings: Settings, *, target: Path, to: datetime | None = None, backup_id: str | None = None
) -> RestoreResult:
    """Point-in-time recovery of the embedded cluster into `target` (a new directory)."""
    if not settings.embedded:
        raise ValidationFailed(
            "--target: point-in-time recovery needs the embedded server's WAL archive; with AETHER_DATABASE_URL "
            "restore a logical backup with --target-url, or use pgBackRest/Barman for PITR (see the README)",
            field="--target",
        )
    target = check_target(target, settings)
    if to is not None and to > utcnow() + timedelta(seconds=5):
        raise ValidationFailed(f"--to {to.isoformat()} is in the future", field="--to")
    started_at = time.perf_counter()
    store = BackupStore(settings.home)
    with store.locked():
        snapshot = _prepare_live_server(settings, store)
        pick = choose_backup(physical_backups(store), to, backup_id)
        members = chain(pick, {r.id: r for r in physical_backups(store)})
        assert pick.system_identifier is not None
        recovery = {
            "restore_command": conf_quote(restore_command(store.wal_dir(pick.system_identifier))),
            "recovery_target_action": "'promote'",
            "recovery_target_timeline": "'latest'",
        }
        if to is not None:
            recovery["recovery_target_time"] = conf_quote(to.isoformat())
            recovery["recovery_target_inclusive"] = "on"
        build_data_dir(members, target)
        cluster = ScratchCluster(target, settings=recovery)
        try:
            with started(cluster):
                recovered_to = _record_restore(cluster, pick, to, target, snapshot)
        except OpsError as exc:
            shutil.rmtree(target, ignore_errors=True)
            if "before configured recovery target was reached" in exc.message:
                raise OpsError(
                    f"the WAL archive ends before --to {to.isoformat() if to else ''}: nothing later was "
                    "archived. Restore to an earlier time, or leave out --to to recover everything archived"
                ) from None
            raise
    home = settings.home.expanduser().resolve()
    steps = [
        "aether db stop",
        f"mv {home / 'pgdata'} {home / 'pgdata.before-restore'}",
        f"mv {target} {home / 'pgdata'}",
        "aether db start",
        "aether credentials review",
    ]
    return RestoreResult(
        backup_id=pick.id,
        chain=[m.id for m in members],
        target=str(target),
        target_time=to,
        recovered_to=recovered_to,
        duration_s=time.perf_counter() - started_at,
        credentials_snapshot=snapshot is not None,
        next_steps=steps,
    )


def _prepare_live_server(settings: Settings, store: BackupStore) -> list[dict[str, Any]] | None:
    """If the embedded server runs: write a commit record now and wait until its segment is archived
    (so any time up to now is reachable), and take the credentials' metadata for `credentials review`."""
    server = EmbeddedServer(settings.home)
    if not server.status().running:
        return None
    try:
        with connect(server.url(), settings, autocommit=True, application="aether-restore") as conn:
            ident = conn.execute(Q.server_identity).fetchone()
            assert ident is not None
            with conn.transaction():
                conn.execute("SELECT pg_current_xact_id()")  # a commit record stamped now
            row = conn.execute(Q.switch_wal).fetchone()
            assert row is not None
            if ident["archive_mode"] != "off":
                wait_archived(conn, store.wal_dir(str(ident["system_identifier"])), str(row["walfile"]))
            return credentials_metadata(conn)
    except psycopg.Error as exc:
        log.warning("the running server could not be prepared for the restore: %s", exc)
        return None


def credentials_metadata(conn: psycopg.Connection[Any]) -> list[dict[str, Any]] | None:
    """The credentials' metadata (never their values), JSON-ready; None when there is no such table."""
    try:
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(f"SELECT {CREDENTIAL_COLUMNS} FROM credentials ORDER BY id").fetchall()
    except psycopg.errors.UndefinedTable:
        return None
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()} for row in rows]


def build_data_dir(members: list[BackupRecord], target: Path) -> None:
    """The data directory of the last backup in `members`: a copy, or the chain combined."""
    if target.exists():
        target.rmdir()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if len(members) == 1:
            pgtools.copy_tree(members[0].data_dir, target)
        else:
            pgtools.run("pg_combinebackup", [*(str(m.data_dir) for m in members), "--output", str(target)])
        for name in ("recovery.signal", "standby.signal", "postmaster.pid"):
            (target / name).unlink(missing_ok=True)
        (target / "recovery.signal").touch()
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _record_restore(
    cluster: ScratchCluster,
    pick: BackupRecord,
    to: datetime | None,
    target: Path,
    snapshot: list[dict[str, Any]] | None,
) -> datetime | None:
    with psycopg.connect(cluster.url(pick.database or "aether"), autocommit=True) as conn:
        row = conn.execute("SELECT pg_last_xact_replay_timestamp()").fetchone()
        recovered = as_utc(row[0]) if row and row[0] else None
        try:
            conn.execute(
                "INSERT INTO restore_events (backup_id, target_time, recovered_to, target_dir, credentials_before) "
                "VALUES (%s, %s, %s, %s, %s)",
                (pick.id, naive_utc(to), naive_utc(recovered), str(target), Jsonb(snapshot) if snapshot else None),
            )
        except psycopg.errors.UndefinedTable:
            log.warning("the restored database has no restore_events table; `credentials review` has less to go on")
    return recovered


# ---- verification -------------------------------------------------------------------------------


def verify(settings: Settings, backup_id: str | None = None) -> VerifyResult:
    """Check a backup's files, restore it into a scratch cluster, start it and compare row counts."""
    started_at = time.perf_counter()
    store = BackupStore(settings.home)
    records = [r for r in store.records() if r.status == "completed"]
    if backup_id is not None:
        pick = next((r for r in records if r.id == backup_id), None)
        if pick is None:
            raise ValidationFailed(f"BACKUP_ID: no completed backup {backup_id!r} on disk", field="BACKUP_ID")
    elif records:
        pick = records[-1]
    else:
        raise OpsError("there is no completed backup to verify (aether backup create makes one)")
    result = VerifyResult(backup_id=pick.id, kind=pick.kind, passed=False, expected=dict(pick.row_counts))
    scratch = store.root / ".verify" / pick.id
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        if pick.physical:
            _verify_physical(store, pick, scratch, result)
        else:
            _verify_logical(pick, scratch, result)
    except OpsError as exc:
        result.problems.append(exc.message)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for table, expected in result.expected.items():
        if table not in result.found:
            if not result.problems:
                result.problems.append(f"{table}: missing from the restored database")
        elif result.found[table] != expected:
            result.problems.append(f"{table}: {result.found[table]} rows restored, {expected} at backup time")
    result.passed = not result.problems
    result.duration_s = time.perf_counter() - started_at
    _record_verification(settings, result)
    return result


def _verify_physical(store: BackupStore, pick: BackupRecord, scratch: Path, result: VerifyResult) -> None:
    members = chain(pick, {r.id: r for r in physical_backups(store)})
    for member in members:
        check: ManifestCheck = verify_backup_dir(member.data_dir)
        result.manifest.append({"backup": member.id, "tool": check.tool, "files": check.files, "ok": check.ok})
        result.problems += [f"{member.id}: {p}" for p in check.problems]
    if result.problems:
        return
    assert pick.system_identifier is not None
    recovery = {
        "restore_command": conf_quote(restore_command(store.wal_dir(pick.system_identifier))),
        "recovery_target_action": "'promote'",
        "recovery_target_timeline": "'current'",
    }
    if pick.check_lsn:
        recovery["recovery_target_lsn"] = conf_quote(pick.check_lsn)
        recovery["recovery_target_inclusive"] = "off"
    else:
        recovery["recovery_target"] = "'immediate'"
    build_data_dir(members, scratch / "pgdata")
    with started(ScratchCluster(scratch / "pgdata", settings=recovery)) as cluster:
        result.found = _count(cluster.url(pick.database or "aether"), list(pick.row_counts))


def _verify_logical(pick: BackupRecord, scratch: Path, result: VerifyResult) -> None:
    pgtools.run("pg_restore", ["--list", str(pick.dump_file)], what="pg_restore --list")
    result.manifest.append({"backup": pick.id, "tool": "pg_restore --list", "ok": True})
    scratch.mkdir(parents=True, exist_ok=True)
    pgtools.initdb(scratch / "pgdata")
    with started(ScratchCluster(scratch / "pgdata", settings={"fsync": "off"})) as cluster:
        database = pick.database or "aether"
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')  # a name PostgreSQL itself reported
        conninfo, env = libpq_args(cluster.url(database))
        pgtools.run(
            "pg_restore",
            ["--no-owner", "--no-privileges", "--exit-on-error", "--dbname", conninfo, str(pick.dump_file)],
            env=env,
        )
        result.found = _count(cluster.url(database), list(pick.row_counts))


def _count(url: str, tables: list[str]) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        present = existing_tables(conn, tuple(tables))
        return table_counts(conn, present)


def _record_verification(settings: Settings, result: VerifyResult) -> None:
    detail = {
        "passed": result.passed,
        "problems": result.problems,
        "expected": result.expected,
        "found": result.found,
        "manifest": result.manifest,
        "duration_s": round(result.duration_s, 3),
    }
    try:
        with connect(primary_url(settings), settings, autocommit=True, application="aether-backup") as conn:
            conn.execute(
                Q.record_verification,
                {
                    "id": result.backup_id,
                    "verify_status": "passed" if result.passed else "failed",
                    "verify_detail": Jsonb(detail),
                },
            )
    except Exception as exc:
        log.warning("could not record the verification in the catalogue: %s", exc)


# ---- logical (external database) ---------------------------------------------------------------


def restore_logical(settings: Settings, *, target_url: str, backup_id: str | None = None) -> RestoreResult:
    """Restore a pg_dump backup into an empty database (`--target-url`)."""
    started_at = time.perf_counter()
    store = BackupStore(settings.home)
    dumps = [r for r in store.records() if r.kind == "logical" and r.status == "completed"]
    if not dumps:
        raise OpsError("there is no completed logical backup to restore (aether backup create makes one)")
    pick = dumps[-1]
    if backup_id is not None:
        found = next((r for r in dumps if r.id == backup_id), None)
        if found is None:
            raise ValidationFailed(f"--backup: no completed logical backup {backup_id!r} on disk", field="--backup")
        pick = found
    snapshot: list[dict[str, Any]] | None = None
    try:
        with connect(primary_url(settings), settings, autocommit=True, application="aether-restore") as source:
            snapshot = credentials_metadata(source)
    except Exception as exc:
        log.warning("the current database could not be read before the restore: %s", exc)
    with connect(target_url, settings, autocommit=True, application="aether-restore") as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'"
        ).fetchone()
        if row is not None and row["n"]:
            raise ValidationFailed(
                f"--target-url must name an empty database (it holds {row['n']} tables, views or sequences)",
                field="--target-url",
            )
        conninfo, env = libpq_args(target_url)
        pgtools.run(
            "pg_restore",
            ["--no-owner", "--no-privileges", "--exit-on-error", "--dbname", conninfo, str(pick.dump_file)],
            env=env,
        )
        try:
            conn.execute(
                "INSERT INTO restore_events (backup_id, target_time, recovered_to, target_dir, credentials_before) "
                "VALUES (%s, NULL, %s, NULL, %s)",
                (pick.id, naive_utc(pick.started_at), Jsonb(snapshot) if snapshot else None),
            )
        except psycopg.errors.UndefinedTable:
            log.warning("the restored database has no restore_events table")
    return RestoreResult(
        backup_id=pick.id,
        chain=[pick.id],
        target=target_url,
        target_time=None,
        recovered_to=pick.started_at.astimezone(UTC) if pick.started_at else None,
        duration_s=time.perf_counter() - started_at,
        credentials_snapshot=snapshot is not None,
        next_steps=["point AETHER_DATABASE_URL at the restored database", "aether credentials review"],
    )
