"""Figures for monitoring: one `Snapshot` gathered from the database and this process, rendered as
Prometheus text (`/metrics`) or as a terminal dashboard (`aether status`).

Database figures are read at scrape time with named queries (each in its own transaction, so one
failing — a table another migration has not made yet — leaves the others). Process figures come from
the pools this process registered (`track_database`, or the gateway's `app.state.db`) and from the
per-statement timings of aether.db.stats.
"""

from __future__ import annotations

import math
import shutil
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from aether.config import Settings
from aether.db import AsyncConnection, Connection, Database, load_queries
from aether.db.stats import BUCKETS, STATS

Q = load_queries(__file__, "metrics.sql")

# Task run times (seconds) bucket bounds: agents take from milliseconds to many minutes.
TASK_BUCKETS: tuple[float, ...] = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)

QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "database": (Q.metrics_database, {}),
    "connections": (Q.metrics_connections, {}),
    "queue": (Q.metrics_queue, {}),
    "tasks": (Q.metrics_tasks, {}),
    "task_durations": (Q.metrics_task_durations, {"buckets": list(TASK_BUCKETS)}),
    "workflows": (Q.metrics_workflows, {}),
    "backups": (Q.metrics_backups, {}),
    "backup_times": (Q.metrics_backup_times, {}),
    "archiver": (Q.metrics_archiver, {}),
    "maintenance": (Q.metrics_maintenance, {}),
    "maintenance_success": (Q.metrics_maintenance_success, {}),
}

_TRACKED: weakref.WeakSet[Database] = weakref.WeakSet()


def track_database(db: Database) -> None:
    """Report this database's pool (size, in use, waiting) in the process's metrics."""
    _TRACKED.add(db)


@dataclass
class PoolFigures:
    name: str
    size: int
    in_use: int
    idle: int
    waiting: int
    max_size: int


@dataclass
class Snapshot:
    taken_at: datetime
    database_up: bool
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    pools: list[PoolFigures] = field(default_factory=list)
    disk_free_bytes: int | None = None
    disk_total_bytes: int | None = None
    home: str = ""

    def one(self, key: str) -> dict[str, Any]:
        rows = self.rows.get(key) or []
        return rows[0] if rows else {}

    def age_s(self, value: Any) -> float | None:
        if not isinstance(value, datetime):
            return None
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return max((self.taken_at - moment).total_seconds(), 0.0)

    def last_backup_age_s(self) -> float | None:
        return self.age_s(self.one("backup_times").get("last_completed"))

    def to_json(self) -> dict[str, Any]:
        """The snapshot for `aether status --json`."""
        database = self.one("database")
        times = self.one("backup_times")
        archiver = self.one("archiver")
        return {
            "taken_at": self.taken_at.isoformat(),
            "database": {
                "up": self.database_up,
                "name": database.get("database"),
                "size_bytes": _int(database.get("size_bytes")),
                "connections": [
                    {"application": r["application"], "state": r["state"], "count": int(r["n"])}
                    for r in self.rows.get("connections", [])
                ],
            },
            "pools": [vars(p) for p in self.pools],
            "queries": [
                {
                    "name": name,
                    "count": t.count,
                    "errors": t.errors,
                    "mean_ms": round(t.total_s / t.count * 1000, 3) if t.count else 0.0,
                    "max_ms": round(t.max_s * 1000, 3),
                }
                for name, t in sorted(STATS.snapshot().items())
            ],
            "queue": [
                {
                    "task_type": r["task_type"],
                    "agent": r["agent"],
                    "depth": int(r["depth"]),
                    "oldest_age_s": round(float(r["oldest_age_s"] or 0), 3),
                }
                for r in self.rows.get("queue", [])
            ],
            "tasks": [
                {"task_type": r["task_type"], "agent": r["agent"], "status": r["status"], "count": int(r["n"])}
                for r in self.rows.get("tasks", [])
            ],
            "task_last_hour": [
                {
                    "task_type": r["task_type"],
                    "agent": r["agent"],
                    "finished": int(r["n"]),
                    "failed": int(r["failed"]),
                    "error_ratio": round(int(r["failed"]) / int(r["n"]), 4) if int(r["n"]) else 0.0,
                    "mean_s": round(float(r["total_s"]) / int(r["n"]), 3) if int(r["n"]) else 0.0,
                }
                for r in self.rows.get("task_durations", [])
            ],
            "workflows": [
                {"definition": r["definition_name"], "status": r["status"], "count": int(r["n"])}
                for r in self.rows.get("workflows", [])
            ],
            "backups": {
                "last_completed_at": _iso(times.get("last_completed")),
                "last_completed_age_s": _round(self.last_backup_age_s()),
                "last_full_at": _iso(times.get("last_full")),
                "last_verified_at": _iso(times.get("last_verified")),
                "not_offsite": _int(times.get("not_offsite")),
                "size_bytes": _int(times.get("size_bytes")),
                "by_status": [
                    {"kind": r["kind"], "status": r["status"], "count": int(r["n"])}
                    for r in self.rows.get("backups", [])
                ],
                "wal_archive": {
                    "mode": archiver.get("mode"),
                    "archived": _int(archiver.get("archived_count")),
                    "failed": _int(archiver.get("failed_count")),
                    "last_archived_at": _iso(archiver.get("last_archived_time")),
                    "last_failed_at": _iso(archiver.get("last_failed_time")),
                },
            },
            "maintenance": [
                {
                    "job": r["job"],
                    "outcome": r["outcome"],
                    "finished_at": _iso(r["finished_at"]),
                    "duration_ms": float(r["duration_ms"]) if r["duration_ms"] is not None else None,
                }
                for r in self.rows.get("maintenance", [])
            ],
            "disk": {"home": self.home, "free_bytes": self.disk_free_bytes, "total_bytes": self.disk_total_bytes},
            "errors": self.errors,
        }


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _iso(value: Any) -> str | None:
    if not isinstance(value, datetime):
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()


# ---- gathering ----------------------------------------------------------------------------------


def short_error(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def gather_sync(conn: Connection | None, settings: Settings, dbs: Iterable[Database] = ()) -> Snapshot:
    snapshot = _base_snapshot(settings, dbs, database_up=conn is not None)
    if conn is None:
        return snapshot
    for key, (query, params) in QUERIES.items():
        try:
            with conn.transaction():
                snapshot.rows[key] = [dict(r) for r in conn.execute(query, params).fetchall()]
        except psycopg.Error as exc:
            snapshot.errors[key] = short_error(exc)
            if isinstance(exc, psycopg.OperationalError) and conn.closed:
                snapshot.database_up = False
                break
    return snapshot


async def gather_async(conn: AsyncConnection | None, settings: Settings, dbs: Iterable[Database] = ()) -> Snapshot:
    snapshot = _base_snapshot(settings, dbs, database_up=conn is not None)
    if conn is None:
        return snapshot
    for key, (query, params) in QUERIES.items():
        try:
            async with conn.transaction():
                cur = await conn.execute(query, params)
                snapshot.rows[key] = [dict(r) for r in await cur.fetchall()]
        except psycopg.Error as exc:
            snapshot.errors[key] = short_error(exc)
            if isinstance(exc, psycopg.OperationalError) and conn.closed:
                snapshot.database_up = False
                break
    return snapshot


def _base_snapshot(settings: Settings, dbs: Iterable[Database], *, database_up: bool) -> Snapshot:
    snapshot = Snapshot(taken_at=datetime.now(UTC), database_up=database_up)
    seen: set[int] = set()
    for db in [*dbs, *list(_TRACKED)]:
        if id(db) in seen:
            continue
        seen.add(id(db))
        snapshot.pools.extend(pool_figures(db))
    home = settings.home.expanduser().resolve()
    snapshot.home = str(home)
    probe: Path = home
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    snapshot.disk_free_bytes, snapshot.disk_total_bytes = usage.free, usage.total
    return snapshot


def pool_figures(db: Database) -> list[PoolFigures]:
    figures = []
    for pool in (db.pool, db.replica_pool):
        if pool is None or pool.closed:
            continue
        stats = pool.get_stats()
        size = int(stats.get("pool_size", 0))
        idle = int(stats.get("pool_available", 0))
        figures.append(
            PoolFigures(
                name=pool.name,
                size=size,
                in_use=max(size - idle, 0),
                idle=idle,
                waiting=int(stats.get("requests_waiting", 0)),
                max_size=pool.max_size,
            )
        )
    return figures


# ---- Prometheus ---------------------------------------------------------------------------------


class SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        s = self.snapshot
        yield _gauge("aether_database_up", "1 when the database answered this scrape.", [((), float(s.database_up))])
        yield from self._pools()
        yield from self._queries()
        database = s.one("database")
        if database:
            yield _gauge("aether_database_size_bytes", "Size of the database.", [((), float(database["size_bytes"]))])
        yield _gauge(
            "aether_db_connections",
            "Server connections to this database by application and state.",
            [((r["application"], r["state"]), float(r["n"])) for r in s.rows.get("connections", [])],
            ["application", "state"],
        )
        yield from self._queue()
        yield from self._workflows()
        yield from self._backups()
        yield from self._maintenance()
        if s.disk_free_bytes is not None and s.disk_total_bytes is not None:
            yield _gauge("aether_home_disk_free_bytes", "Free disk space under AETHER_HOME.", [((), s.disk_free_bytes)])
            yield _gauge(
                "aether_home_disk_total_bytes",
                "Size of the file system holding AETHER_HOME.",
                [((), s.disk_total_bytes)],
            )

    def _pools(self) -> Iterable[Metric]:
        pools = self.snapshot.pools
        for name, text, attribute in (
            ("aether_db_pool_size", "Open connections in the pool.", "size"),
            ("aether_db_pool_in_use", "Connections lent out of the pool.", "in_use"),
            ("aether_db_pool_waiting", "Requests waiting for a connection.", "waiting"),
            ("aether_db_pool_max", "Most connections the pool opens.", "max_size"),
        ):
            yield _gauge(name, text, [((p.name,), getattr(p, attribute)) for p in pools], ["pool"])

    def _queries(self) -> Iterable[Metric]:
        timings = STATS.snapshot()
        counts = CounterMetricFamily("aether_db_queries", "Statements executed, by named query.", labels=["query"])
        errors = CounterMetricFamily(
            "aether_db_query_errors", "Statements that failed, by named query.", labels=["query"]
        )
        latency = HistogramMetricFamily(
            "aether_db_query_duration_seconds", "Statement latency by named query.", labels=["query"]
        )
        for name, timing in sorted(timings.items()):
            counts.add_metric([name], timing.count)
            errors.add_metric([name], timing.errors)
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip((*BUCKETS, math.inf), timing.buckets, strict=True):
                cumulative += count
                buckets.append(("+Inf" if math.isinf(bound) else repr(bound), cumulative))
            latency.add_metric([name], buckets, timing.total_s)
        yield counts
        yield errors
        yield latency

    def _queue(self) -> Iterable[Metric]:
        s = self.snapshot
        queue = s.rows.get("queue", [])
        yield _gauge(
            "aether_queue_depth",
            "Due pending tasks by task type and agent.",
            [((r["task_type"], r["agent"]), float(r["depth"])) for r in queue],
            ["task_type", "agent"],
        )
        yield _gauge(
            "aether_queue_oldest_age_seconds",
            "How long the oldest due pending task has waited, by task type and agent.",
            [((r["task_type"], r["agent"]), float(r["oldest_age_s"] or 0)) for r in queue],
            ["task_type", "agent"],
        )
        yield _gauge(
            "aether_tasks",
            "Tasks in the table by task type, agent and status.",
            [((r["task_type"], r["agent"], r["status"]), float(r["n"])) for r in s.rows.get("tasks", [])],
            ["task_type", "agent", "status"],
        )
        durations = HistogramMetricFamily(
            "aether_task_duration_seconds",
            "Run time of tasks finished in the last hour, by task type and agent.",
            labels=["task_type", "agent"],
        )
        error_ratio = []
        for r in s.rows.get("task_durations", []):
            n = int(r["n"])
            counts = list(r["buckets"] or [0] * len(TASK_BUCKETS))
            buckets = [(repr(b), float(c)) for b, c in zip(TASK_BUCKETS, counts, strict=False)]
            buckets.append(("+Inf", float(n)))
            durations.add_metric([r["task_type"], r["agent"]], buckets, float(r["total_s"]))
            error_ratio.append(((r["task_type"], r["agent"]), int(r["failed"]) / n if n else 0.0))
        yield durations
        yield _gauge(
            "aether_task_error_ratio",
            "Share of tasks finished in the last hour that failed, by task type and agent.",
            error_ratio,
            ["task_type", "agent"],
        )

    def _workflows(self) -> Iterable[Metric]:
        yield _gauge(
            "aether_workflows",
            "Workflows by definition and status (outcomes: completed, failed, cancelled).",
            [((r["definition_name"], r["status"]), float(r["n"])) for r in self.snapshot.rows.get("workflows", [])],
            ["definition", "status"],
        )

    def _backups(self) -> Iterable[Metric]:
        s = self.snapshot
        yield _gauge(
            "aether_backups",
            "Backups in the catalogue by kind and status.",
            [((r["kind"], r["status"]), float(r["n"])) for r in s.rows.get("backups", [])],
            ["kind", "status"],
        )
        times = s.one("backup_times")
        for key, name, text in (
            ("last_completed", "aether_backup_last_success_age_seconds", "Age of the newest completed backup."),
            ("last_full", "aether_backup_last_full_age_seconds", "Age of the newest full (or logical) backup."),
            ("last_verified", "aether_backup_last_verified_age_seconds", "Age of the newest passed verification."),
        ):
            age = s.age_s(times.get(key))
            if age is not None:
                yield _gauge(name, text, [((), age)])
        if times.get("not_offsite") is not None:
            yield _gauge(
                "aether_backups_not_offsite", "Completed backups not yet copied off-site.", [((), times["not_offsite"])]
            )
        archiver = s.one("archiver")
        if archiver:
            yield _gauge(
                "aether_wal_archive_failures",
                "WAL segments the archiver failed to store (since stats reset).",
                [((), float(archiver["failed_count"]))],
            )
            yield _gauge(
                "aether_wal_archived",
                "WAL segments archived (since stats reset).",
                [((), float(archiver["archived_count"]))],
            )
            age = s.age_s(archiver.get("last_archived_time"))
            if age is not None:
                yield _gauge(
                    "aether_wal_last_archived_age_seconds", "Age of the last archived WAL segment.", [((), age)]
                )

    def _maintenance(self) -> Iterable[Metric]:
        s = self.snapshot
        last = s.rows.get("maintenance", [])
        yield _gauge(
            "aether_maintenance_last_run_age_seconds",
            "Age of each maintenance job's last finished run, with its outcome.",
            [((r["job"], r["outcome"]), s.age_s(r["finished_at"]) or 0.0) for r in last],
            ["job", "outcome"],
        )
        yield _gauge(
            "aether_maintenance_last_duration_seconds",
            "Duration of each maintenance job's last finished run.",
            [((r["job"],), float(r["duration_ms"] or 0) / 1000) for r in last],
            ["job"],
        )
        yield _gauge(
            "aether_maintenance_last_success_age_seconds",
            "Age of each maintenance job's last successful run.",
            [((r["job"],), s.age_s(r["finished_at"]) or 0.0) for r in s.rows.get("maintenance_success", [])],
            ["job"],
        )


def _gauge(
    name: str, documentation: str, samples: Sequence[tuple[Sequence[Any], float]], labels: list[str] | None = None
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels or [])
    for values, value in samples:
        family.add_metric([str(v) for v in values], float(value))
    return family


def render(snapshot: Snapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return generate_latest(registry)
