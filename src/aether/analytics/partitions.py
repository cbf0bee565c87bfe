"""Monthly partitions of `analytics` (migration 0009): created ahead by maintenance, dropped by retention.

`ensure_partitions(conn, months_ahead)` makes sure this month and the next `months_ahead` months have a
partition; `drop_partitions_older_than(conn, months)` keeps this month and the `months` months before it
and drops every older month whole (rows of those months that sat in `analytics_default` are deleted too).
Both run in the caller's transaction and take the month from the database clock (UTC) unless `today`
is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from aether.db import AsyncConnection, Connection, load_queries
from aether.errors import ValidationFailed

Q = load_queries(__file__, "partitions.sql")


@dataclass(frozen=True)
class Partition:
    name: str
    lower_bound: datetime | None
    upper_bound: datetime | None
    is_default: bool
    estimated_rows: int


def month_start(day: date, offset: int = 0) -> datetime:
    """The first instant of `day`'s month moved by `offset` months."""
    index = day.year * 12 + (day.month - 1) + offset
    return datetime(index // 12, index % 12 + 1, 1)


def _today(conn: Connection, today: date | None) -> date:
    if today is not None:
        return today
    row = conn.execute("SELECT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')::date AS today").fetchone()
    assert row is not None
    return row["today"]  # type: ignore[no-any-return]


def _check_months(value: int, field: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= 1200:
        raise ValidationFailed(f"{field} must be a whole number of months from {minimum} to 1200", field=field)


def ensure_partitions(conn: Connection, months_ahead: int, *, today: date | None = None) -> list[str]:
    """Create the partitions of this month and the next `months_ahead` months; returns their names."""
    _check_months(months_ahead, "months_ahead", 0)
    day = _today(conn, today)
    names = []
    for offset in range(months_ahead + 1):
        row = conn.execute(Q.create_partition, {"month": month_start(day, offset)}).fetchone()
        assert row is not None
        names.append(str(row["name"]))
    return names


def drop_partitions_older_than(conn: Connection, months: int, *, today: date | None = None) -> list[str]:
    """Drop every month partition that ends before the start of the month `months` months ago."""
    _check_months(months, "months", 1)
    cutoff = month_start(_today(conn, today), -months)
    return [str(row["name"]) for row in conn.execute(Q.drop_partitions_before, {"cutoff": cutoff}).fetchall()]


def list_partitions(conn: Connection) -> list[Partition]:
    return [Partition(**row) for row in conn.execute(Q.list_partitions).fetchall()]


async def ensure_partitions_async(conn: AsyncConnection, months_ahead: int, *, today: date | None = None) -> list[str]:
    """`ensure_partitions` for an async connection (the scheduler)."""
    _check_months(months_ahead, "months_ahead", 0)
    if today is None:
        cur = await conn.execute("SELECT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')::date AS today")
        row = await cur.fetchone()
        assert row is not None
        today = row["today"]
    assert today is not None
    names = []
    for offset in range(months_ahead + 1):
        cur = await conn.execute(Q.create_partition, {"month": month_start(today, offset)})
        created = await cur.fetchone()
        assert created is not None
        names.append(str(created["name"]))
    return names


async def drop_partitions_older_than_async(
    conn: AsyncConnection, months: int, *, today: date | None = None
) -> list[str]:
    _check_months(months, "months", 1)
    if today is None:
        cur = await conn.execute("SELECT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')::date AS today")
        row = await cur.fetchone()
        assert row is not None
        today = row["today"]
    assert today is not None
    cur = await conn.execute(Q.drop_partitions_before, {"cutoff": month_start(today, -months)})
    return [str(row["name"]) for row in await cur.fetchall()]
