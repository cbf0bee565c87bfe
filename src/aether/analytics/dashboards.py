"""Dashboard reports over `analytics`: downloads per episode and per day, episodes and videos published,
tasks per agent with failure rate and duration p50/p95. Each report is JSON rows, CSV and an SVG chart.

Reports run on the read replica when one is configured (`Database.connection(readonly=True)`);
an admin sees every show, anyone else only the shows they own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aether.analytics import charts
from aether.db import AsyncConnection, Database, load_queries
from aether.errors import NotFound, ValidationFailed

Q = load_queries(__file__, "dashboards.sql")
MAX_DAYS = 3660
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    query: str
    columns: tuple[str, ...]
    chart: Callable[[str, list[dict[str, Any]]], str]


def _by_episode_chart(title: str, rows: list[dict[str, Any]]) -> str:
    top = rows[:20]
    return charts.bar_chart(title, [str(r["title"]) for r in top], {"downloads": [float(r["downloads"]) for r in top]})


def _by_day_chart(title: str, rows: list[dict[str, Any]]) -> str:
    return charts.line_chart(title, [str(r["day"]) for r in rows], {"downloads": [float(r["downloads"]) for r in rows]})


def _published_chart(title: str, rows: list[dict[str, Any]]) -> str:
    return charts.bar_chart(
        title,
        [str(r["day"]) for r in rows],
        {"episodes": [float(r["episodes"]) for r in rows], "videos": [float(r["videos"]) for r in rows]},
    )


def _tasks_chart(title: str, rows: list[dict[str, Any]]) -> str:
    return charts.bar_chart(
        title,
        [str(r["agent"]) for r in rows],
        {
            "p50 seconds": [float(r["p50_seconds"] or 0) for r in rows],
            "p95 seconds": [float(r["p95_seconds"] or 0) for r in rows],
        },
    )


REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        Report(
            "downloads-by-episode",
            "Downloads per episode",
            Q.downloads_by_episode,
            ("episode_id", "title", "show_id", "downloads"),
            _by_episode_chart,
        ),
        Report("downloads-by-day", "Downloads per day", Q.downloads_by_day, ("day", "downloads"), _by_day_chart),
        Report(
            "published",
            "Episodes and videos published per day",
            Q.published_by_day,
            ("day", "episodes", "videos"),
            _published_chart,
        ),
        Report(
            "tasks",
            "Tasks per agent: duration p50 / p95",
            Q.tasks_by_agent,
            ("agent", "tasks", "failed", "failure_rate", "p50_seconds", "p95_seconds"),
            _tasks_chart,
        ),
    )
}


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day)

    @property
    def end(self) -> datetime:
        """Exclusive: the day after `last`."""
        return self.start + timedelta(days=(self.last - self.first).days + 1)


def period(first: date | None, last: date | None, *, today: date | None = None) -> Period:
    """The report's days (inclusive); the last 30 days by default. Clear errors name `from` / `to`."""
    last = last or today or datetime.utcnow().date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValidationFailed("from must be on or before to", field="from")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed(f"the period must be at most {MAX_DAYS} days", field="to")
    return Period(first, last)


def report(name: str) -> Report:
    found = REPORTS.get(name)
    if found is None:
        raise NotFound(f"no report {name!r}; reports: {', '.join(REPORTS)}", field="report")
    return found


async def visible_shows(
    conn: AsyncConnection, *, user_id: int, is_admin: bool, show_id: int | None
) -> list[str] | None:
    """Show ids the caller may see (None = all, for an admin without a show filter)."""
    if is_admin:
        return None if show_id is None else [str(show_id)]
    cur = await conn.execute(Q.user_show_ids, {"user_id": user_id})
    own = [str(r["id"]) for r in await cur.fetchall()]
    if show_id is None:
        return own
    if str(show_id) not in own:
        raise NotFound(f"no show {show_id}", field="show_id")
    return [str(show_id)]


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


async def run_report(
    db: Database, name: str, when: Period, *, user_id: int, is_admin: bool, show_id: int | None = None
) -> list[dict[str, Any]]:
    """The report's rows (JSON-ready), read from the replica when there is one."""
    chosen = report(name)
    async with db.connection(readonly=True) as conn:
        shows = await visible_shows(conn, user_id=user_id, is_admin=is_admin, show_id=show_id)
        cur = await conn.execute(chosen.query, {"start": when.start, "end": when.end, "shows": shows})
        rows = await cur.fetchall()
    return [{column: _plain(row[column]) for column in chosen.columns} for row in rows]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage
    return) gets a leading apostrophe (OWASP's CSV-injection advice); numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(name: str, rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(report(name).columns), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
    return out.getvalue()


def to_svg(name: str, rows: list[dict[str, Any]], when: Period) -> str:
    chosen = report(name)
    return chosen.chart(f"{chosen.title}, {when.first.isoformat()} to {when.last.isoformat()}", rows)
