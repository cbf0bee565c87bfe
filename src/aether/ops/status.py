"""`aether status`: the monitoring figures as a terminal dashboard, refreshed live (or once, or JSON).

The dashboard shows the installation, not the `aether status` process itself: the query timings of this
process (`queries` in the JSON) stay out of the frame."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from aether.config import Settings
from aether.db.connect import primary_url
from aether.db.pool import connect
from aether.errors import AetherError
from aether.ops.metrics import Snapshot, gather_sync


def take_snapshot(settings: Settings) -> Snapshot:
    """Figures from the database (never starting the embedded server: a stopped one shows as down)."""
    try:
        conn = connect(primary_url(settings, start=False), settings, autocommit=True, application="aether-status")
    except AetherError as exc:
        snapshot = gather_sync(None, settings)
        snapshot.errors["database"] = exc.message
        return snapshot
    with conn:
        return gather_sync(conn, settings)


def human_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def human_age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} d ago"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", expand=False, show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column)
    return table


def render(snapshot: Snapshot) -> RenderableType:
    data: dict[str, Any] = snapshot.to_json()
    db, backups, disk = data["database"], data["backups"], data["disk"]
    state = Text("up", style="green") if db["up"] else Text("DOWN", style="bold red")
    header = Text.assemble(
        ("Aether status ", "bold"),
        (snapshot.taken_at.strftime("%Y-%m-%d %H:%M:%S UTC"), "dim"),
        "  database ",
        state,
        f" {db['name'] or ''} {human_bytes(db['size_bytes'])}",
        f"  disk free {human_bytes(disk['free_bytes'])} of {human_bytes(disk['total_bytes'])}",
        "  last backup ",
        Text(
            human_age(backups["last_completed_age_s"]),
            style="red" if backups["last_completed_age_s"] is None or backups["last_completed_age_s"] > 86400 else "",
        ),
    )
    parts: list[RenderableType] = [header]

    pools = _table("Connections", "pool / application", "state", "count")
    for pool in data["pools"]:
        pools.add_row(pool["name"], "in use / size / max", f"{pool['in_use']} / {pool['size']} / {pool['max_size']}")
        pools.add_row(pool["name"], "waiting", str(pool["waiting"]))
    for conn in db["connections"]:
        pools.add_row(conn["application"], conn["state"], str(conn["count"]))
    parts.append(pools)

    queue = _table("Queue (due tasks)", "task type", "agent", "depth", "oldest")
    for row in data["queue"]:
        queue.add_row(row["task_type"], row["agent"], str(row["depth"]), human_age(row["oldest_age_s"]))
    if not data["queue"]:
        queue.add_row("-", "-", "0", "-")
    parts.append(queue)

    tasks = _table("Tasks finished in the last hour", "task type", "agent", "finished", "failed", "error rate", "mean")
    for row in data["task_last_hour"]:
        tasks.add_row(
            row["task_type"],
            row["agent"],
            str(row["finished"]),
            str(row["failed"]),
            f"{row['error_ratio']:.1%}",
            f"{row['mean_s']:.2f} s",
        )
    parts.append(tasks)

    workflows = _table("Workflows", "definition", "status", "count")
    for row in data["workflows"]:
        workflows.add_row(row["definition"], row["status"], str(row["count"]))
    parts.append(workflows)

    wal = backups["wal_archive"]
    backup_table = _table("Backups", "figure", "value")
    backup_table.add_row("last completed", str(backups["last_completed_at"] or "never"))
    backup_table.add_row("last full", str(backups["last_full_at"] or "never"))
    backup_table.add_row("last verified", str(backups["last_verified_at"] or "never"))
    backup_table.add_row("not yet off-site", str(backups["not_offsite"] if backups["not_offsite"] is not None else "-"))
    backup_table.add_row("size", human_bytes(backups["size_bytes"]))
    backup_table.add_row(
        "WAL archive", f"mode {wal['mode'] or '-'}, {wal['archived'] or 0} archived, {wal['failed'] or 0} failed"
    )
    parts.append(backup_table)

    maintenance = _table("Maintenance (last runs)", "job", "outcome", "finished", "duration")
    for row in data["maintenance"]:
        style = {"failed": "red", "skipped": "yellow"}.get(row["outcome"], "")
        duration = f"{row['duration_ms'] / 1000:.2f} s" if row["duration_ms"] is not None else "-"
        maintenance.add_row(row["job"], Text(row["outcome"], style=style), str(row["finished_at"] or "-"), duration)
    parts.append(maintenance)

    if data["errors"]:
        parts.append(
            Text("not available: " + "; ".join(f"{k}: {v}" for k, v in data["errors"].items()), style="yellow")
        )
    return Group(*parts)


def live(settings: Settings, interval: float, console: Console) -> None:
    """Refresh the dashboard every `interval` seconds until Ctrl-C."""
    with Live(render(take_snapshot(settings)), console=console, refresh_per_second=4, screen=False) as view:
        try:
            while True:
                time.sleep(interval)
                view.update(render(take_snapshot(settings)))
        except KeyboardInterrupt:
            return
