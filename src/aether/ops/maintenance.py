"""Maintenance jobs: statistics, vacuum, index rebuilds, pruning past retention, analytics partitions,
log rotation, backups and restore tests. Each run is recorded in `maintenance_runs` with its duration
and outcome; one run of a job at a time across every machine (a unique index on running rows).

The schedule lives in `periodic_tasks` (migration 0008): each job is a `maintenance.run` task of the
`maintenance` agent (aether.ops.tasks), so the scheduler and workers run them like any task.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from aether.analytics.partitions import drop_partitions_older_than, ensure_partitions
from aether.config import Settings
from aether.db import Connection, load_queries
from aether.db.connect import primary_url
from aether.db.embedded import EmbeddedServer
from aether.db.pool import connect
from aether.errors import OpsError, ValidationFailed
from aether.idempotency import prune_expired_sync
from aether.ops.backup import create_backup
from aether.ops.restore import verify
from aether.queue import scratch

log = logging.getLogger("aether.ops.maintenance")
Q = load_queries(__file__, "maintenance.sql")

BATCH = 1000
STALE_AFTER = timedelta(hours=12)  # a run "running" this long on another machine is taken as crashed
RUNS_KEPT_DAYS = 90


@dataclass
class JobContext:
    settings: Settings
    conn: Connection  # autocommit; jobs open transactions where they need them


@dataclass
class JobResult:
    detail: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None  # why the job had nothing to do (recorded as outcome `skipped`)


@dataclass(frozen=True)
class Job:
    name: str
    schedule: str
    description: str
    fn: Callable[[JobContext], JobResult]
    default: bool = True  # part of `aether maintenance run` without a job name


@dataclass
class RunRecord:
    id: int
    job: str
    outcome: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: float | None
    detail: dict[str, Any]
    error: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RunRecord:
        return cls(
            id=int(row["id"]),
            job=str(row["job"]),
            outcome=str(row["outcome"]),
            trigger=str(row["trigger"]),
            started_at=row["started_at"].replace(tzinfo=UTC),
            finished_at=row["finished_at"].replace(tzinfo=UTC) if row["finished_at"] else None,
            duration_ms=float(row["duration_ms"]) if row["duration_ms"] is not None else None,
            detail=dict(row["detail"] or {}),
            error=row["error"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job": self.job,
            "outcome": self.outcome,
            "trigger": self.trigger,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_ms": round(self.duration_ms, 1) if self.duration_ms is not None else None,
            "detail": self.detail,
            "error": self.error,
        }


JOBS: dict[str, Job] = {}


def job(name: str, schedule: str, description: str, *, default: bool = True) -> Callable[..., Any]:
    def register(fn: Callable[[JobContext], JobResult]) -> Callable[[JobContext], JobResult]:
        JOBS[name] = Job(name, schedule, description, fn, default)
        return fn

    return register


# ---- running ------------------------------------------------------------------------------------


def check_job(name: str) -> Job:
    found = JOBS.get(name)
    if found is None:
        raise ValidationFailed(f"JOB must be one of {', '.join(JOBS)} (got {name!r})", field="JOB")
    return found


def run_job(settings: Settings, name: str, *, trigger: str = "manual") -> RunRecord:
    """Run one job now and record it; a job already running elsewhere is recorded as skipped."""
    spec = check_job(name)
    host, pid = socket.gethostname(), os.getpid()
    with connect(primary_url(settings), settings, autocommit=True, application="aether-maintenance") as conn:
        claimed = _claim(conn, spec.name, trigger, host, pid)
        if isinstance(claimed, RunRecord):
            return claimed
        run_id = claimed
        started = time.perf_counter()
        outcome, error, detail = "succeeded", None, {}
        try:
            result = spec.fn(JobContext(settings, conn))
            detail = result.detail
            if result.skipped is not None:
                outcome = "skipped"
                detail = {**detail, "reason": result.skipped}
        except Exception as exc:
            outcome = "failed"
            error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            log.error("maintenance job %s failed: %s", spec.name, error)
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.rollback()
        duration_ms = (time.perf_counter() - started) * 1000
        row = conn.execute(
            Q.finish_run,
            {
                "id": run_id,
                "outcome": outcome,
                "duration_ms": duration_ms,
                "detail": Jsonb(_jsonable(detail)),
                "error": error[:4000] if error else None,
            },
        ).fetchone()
    assert row is not None
    record = RunRecord.from_row(dict(row))
    log.info("maintenance job %s %s in %.0f ms", spec.name, outcome, duration_ms)
    return record


def _claim(conn: Connection, job_name: str, trigger: str, host: str, pid: int) -> int | RunRecord:
    params = {"job": job_name, "trigger": trigger, "host": host, "pid": pid}
    for _ in range(2):
        row = conn.execute(Q.claim_run, params).fetchone()
        if row is not None:
            return int(row["id"])
        running = conn.execute(Q.running_run, {"job": job_name}).fetchone()
        if running is None:
            continue
        if _is_stale(running, host):
            conn.execute(
                Q.abandon_run,
                {"id": running["id"], "error": f"abandoned: process {running['pid']} on {running['host']} is gone"},
            )
            continue
        skipped = conn.execute(
            Q.record_skipped,
            {
                **params,
                "detail": Jsonb(
                    {
                        "reason": f"already running (run {running['id']} on {running['host']} "
                        f"since {running['started_at'].isoformat()})"
                    }
                ),
            },
        ).fetchone()
        assert skipped is not None
        return RunRecord.from_row(dict(skipped))
    raise RuntimeError(f"could not claim maintenance job {job_name}")


def _is_stale(running: dict[str, Any], host: str) -> bool:
    if running["host"] == host and running["pid"] is not None:
        try:
            os.kill(int(running["pid"]), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    started: datetime = running["started_at"]
    return datetime.now(UTC).replace(tzinfo=None) - started > STALE_AFTER


def run_jobs(settings: Settings, names: list[str] | None = None, *, trigger: str = "manual") -> list[RunRecord]:
    """Run the named jobs (default: every default job) one after another."""
    chosen = [check_job(n).name for n in names] if names else [j.name for j in JOBS.values() if j.default]
    return [run_job(settings, name, trigger=trigger) for name in chosen]


def last_runs(conn: Connection) -> dict[str, RunRecord]:
    return {row["job"]: RunRecord.from_row(dict(row)) for row in conn.execute(Q.last_runs).fetchall()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _batched(conn: Connection, query: str, params: dict[str, Any]) -> int:
    """Run a batched DELETE until a batch comes back short; each batch its own transaction."""
    total = 0
    while True:
        with conn.transaction():
            conn.execute("SELECT set_config('aether.actor', 'system:maintenance', true)")
            count = conn.execute(query, {**params, "batch": BATCH}).rowcount
        total += count
        if count < BATCH:
            return total


def _table_exists(conn: Connection, name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (name,)).fetchone()
    return bool(row and row["present"])


def _days(value: float) -> float:
    return value * 86400


# ---- the jobs -----------------------------------------------------------------------------------


@job(
    "backup", "7 * * * *", "Backup: full once AETHER_BACKUP_FULL_INTERVAL_HOURS passed, else incremental", default=False
)
def backup_job(ctx: JobContext) -> JobResult:

    result = create_backup(ctx.settings, "auto")
    detail: dict[str, Any] = {
        "backup": result.record.id,
        "kind": result.record.kind,
        "size_bytes": result.record.size_bytes,
        "removed": result.retention.removed,
        "wal_removed": result.retention.wal_removed,
        "notes": result.notes,
    }
    if result.offsite is not None:
        detail["offsite"] = {
            "url": result.offsite.url,
            "copied": result.offsite.backups_copied,
            "wal_copied": result.offsite.wal_copied,
            "error": result.offsite.error,
        }
        if result.offsite.error:
            raise OpsError(f"backup {result.record.id} taken, but the off-site copy failed: {result.offsite.error}")
    return JobResult(detail)


@job("backup_verify", "40 4 * * *", "Restore test: verify the newest backup in a scratch cluster", default=False)
def backup_verify_job(ctx: JobContext) -> JobResult:

    result = verify(ctx.settings)
    detail = {"backup": result.backup_id, "passed": result.passed, "problems": result.problems}
    if not result.passed:
        raise OpsError(f"backup {result.backup_id} failed verification: {'; '.join(result.problems)}")
    return JobResult(detail)


@job("analyze", "15 3 * * *", "Statistics: ANALYZE the database (daily)")
def analyze_job(ctx: JobContext) -> JobResult:
    ctx.conn.execute("ANALYZE")
    return JobResult({"tables": len(ctx.conn.execute(Q.user_tables).fetchall())})


@job("vacuum", "25 3 * * *", "VACUUM the database: reclaim dead rows, keep the visibility map current")
def vacuum_job(ctx: JobContext) -> JobResult:
    ctx.conn.execute("VACUUM")
    return JobResult({"tables": len(ctx.conn.execute(Q.user_tables).fetchall())})


@job("reindex", "35 3 * * 0", "Rebuild every index with REINDEX CONCURRENTLY, a table at a time (weekly)")
def reindex_job(ctx: JobContext) -> JobResult:
    tables = [str(row["name"]) for row in ctx.conn.execute(Q.user_tables).fetchall()]
    failed: dict[str, str] = {}
    for table in tables:
        try:
            ctx.conn.execute(sql.SQL("REINDEX TABLE CONCURRENTLY {}").format(sql.SQL(table)))
        except psycopg.Error as exc:
            failed[table] = str(exc).strip().splitlines()[0]
    if failed:
        raise OpsError(f"REINDEX failed for {len(failed)} of {len(tables)} tables: {failed}")
    return JobResult({"tables": len(tables)})


@job("prune_idempotency", "5 2 * * *", "Delete expired idempotency keys")
def prune_idempotency_job(ctx: JobContext) -> JobResult:

    return JobResult({"deleted": prune_expired_sync(ctx.conn)})


@job("prune_sessions", "10 2 * * *", "Delete expired and revoked login sessions")
def prune_sessions_job(ctx: JobContext) -> JobResult:
    return JobResult({"deleted": _batched(ctx.conn, Q.prune_sessions, {})})


@job("prune_tasks", "15 2 * * *", "Delete finished tasks older than AETHER_RETENTION_TASKS_DAYS")
def prune_tasks_job(ctx: JobContext) -> JobResult:
    days = ctx.settings.retention_tasks_days
    return JobResult({"deleted": _batched(ctx.conn, Q.prune_tasks, {"age_s": _days(days)}), "older_than_days": days})


@job("prune_workflows", "20 2 * * *", "Delete finished workflows older than AETHER_RETENTION_WORKFLOWS_DAYS")
def prune_workflows_job(ctx: JobContext) -> JobResult:
    days = ctx.settings.retention_workflows_days
    deleted = _batched(ctx.conn, Q.prune_workflows, {"age_s": _days(days)})
    return JobResult({"deleted": deleted, "older_than_days": days})


@job("prune_audit", "25 2 * * *", "Delete audit rows older than AETHER_RETENTION_AUDIT_DAYS (the pruning is audited)")
def prune_audit_job(ctx: JobContext) -> JobResult:
    if not _table_exists(ctx.conn, "audit_log"):
        return JobResult(skipped="there is no audit_log table")
    days = ctx.settings.retention_audit_days
    with ctx.conn.transaction():
        ctx.conn.execute("SELECT set_config('aether.actor', 'system:maintenance', true)")
        row = ctx.conn.execute(Q.prune_audit, {"age_s": _days(days)}).fetchone()
    return JobResult({"deleted": int(row["pruned"]) if row else 0, "older_than_days": days})


@job("analytics_partitions", "30 2 * * *", "Create monthly analytics partitions ahead, drop those past retention")
def analytics_partitions_job(ctx: JobContext) -> JobResult:
    row = ctx.conn.execute(Q.relkind, {"name": "analytics"}).fetchone()
    if row is None or row["relkind"] != "p":
        return JobResult(skipped="analytics is not a partitioned table: nothing to create or drop")

    with ctx.conn.transaction():
        ctx.conn.execute("SELECT set_config('aether.actor', 'system:maintenance', true)")
        created = ensure_partitions(ctx.conn, ctx.settings.analytics_partitions_ahead)
        dropped = drop_partitions_older_than(ctx.conn, ctx.settings.analytics_retention_months)
    return JobResult({"ensured": created, "dropped": dropped})


@job("rotate_logs", "0 0 * * *", "Embedded server: start a new log file, delete those past AETHER_RETENTION_LOGS_DAYS")
def rotate_logs_job(ctx: JobContext) -> JobResult:
    if not ctx.settings.embedded:
        return JobResult(skipped="external database: its log files belong to its operator")
    log_dir = EmbeddedServer(ctx.settings.home).pgdata / "log"
    ctx.conn.execute("SELECT pg_rotate_logfile()")
    current = ctx.conn.execute("SELECT pg_current_logfile() AS f").fetchone()
    keep = {os.path.basename(str(current["f"]))} if current and current["f"] else set()
    cutoff = time.time() - _days(ctx.settings.retention_logs_days)
    removed = []
    if log_dir.is_dir():
        for path in sorted(log_dir.iterdir()):
            if path.is_file() and path.name not in keep and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path.name)
    return JobResult({"rotated": True, "removed": removed, "current": sorted(keep)})


@job("scratch", "*/15 * * * *", "Delete scratch folders in AETHER_HOME/work that no running task owns")
def scratch_job(ctx: JobContext) -> JobResult:
    swept = scratch.sweep(ctx.conn, ctx.settings, grace_s=ctx.settings.scratch_grace_s)
    return JobResult(swept.detail())


@job("prune_maintenance_runs", "45 2 * * *", f"Delete maintenance run records older than {RUNS_KEPT_DAYS} days")
def prune_maintenance_runs_job(ctx: JobContext) -> JobResult:
    count = ctx.conn.execute(Q.prune_maintenance_runs, {"age_s": _days(RUNS_KEPT_DAYS)}).rowcount
    return JobResult({"deleted": count})
