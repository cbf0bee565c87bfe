"""The audit log: reading it with filters, and the per-transaction context its triggers record.

Rows are written by PostgreSQL triggers (migration 0006), never by Python: every insert, update and
delete on agents, credentials, assets, users, subscribers and data_keys, and every delete on any table.
The actor comes from `SET LOCAL aether.actor` (aether.db's `transaction(actor=...)`), the client address
from `SET LOCAL aether.client_addr` (`set_audit_context`), both transaction-scoped, so they work behind
a transaction-mode pooler. Secret columns appear as `{"redacted": true}`, never with their values.

Actor names: `user:<id>` (the API), `cli:<os user>` (the command line), `agent:<name>`, `system`
(Aether's own work), `db:<role>` (someone connected with psql).
"""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aether.db import AsyncConnection, load_queries
from aether.errors import NotFound, ValidationFailed

Q = load_queries(__file__, "audit.sql")

ACTIONS = ("insert", "update", "delete")
MAX_LIMIT = 1000
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$")
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class AuditEntry:
    id: int
    occurred_at: datetime
    actor: str
    action: str
    table_name: str
    row_id: str | None
    changes: dict[str, Any]
    transaction_id: int
    client_addr: str | None
    db_user: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "occurred_at": self.occurred_at.replace(tzinfo=UTC).isoformat(),
            "actor": self.actor,
            "action": self.action,
            "table": self.table_name,
            "row_id": self.row_id,
            "changes": self.changes,
            "transaction_id": self.transaction_id,
            "client_addr": self.client_addr,
            "db_user": self.db_user,
        }


@dataclass(frozen=True)
class AuditFilter:
    table: str | None = None
    actor: str | None = None  # exact, or a prefix when it ends with '*' (e.g. `user:*`)
    action: str | None = None
    row_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # paging: entries older than this id
    limit: int = 100


def cli_actor() -> str:
    """The actor of a command-line change: `cli:<os user>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def parse_time(value: str | None, *, field: str, now: datetime | None = None) -> datetime | None:
    """`15m`, `2h`, `7d`, `1w` ago, or an ISO date/time (naive = UTC); returns naive UTC."""
    if value is None or not value.strip():
        return None
    now = now or datetime.now(UTC).replace(tzinfo=None)
    match = _RELATIVE.match(value.lower())
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            f"{field} must be a duration ago (30m, 12h, 7d, 2w) or an ISO date/time (2025-01-31, "
            f"2025-01-31T12:00:00Z); got {value!r}",
            field=field,
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def check_filter(flt: AuditFilter) -> AuditFilter:
    if flt.action is not None and flt.action not in ACTIONS:
        raise ValidationFailed(f"action must be one of {', '.join(ACTIONS)} (got {flt.action!r})", field="action")
    if not 1 <= flt.limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT} (got {flt.limit})", field="limit")
    if flt.since and flt.until and flt.since >= flt.until:
        raise ValidationFailed("since must be before until", field="since")
    return flt


def _entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        occurred_at=row["occurred_at"],
        actor=row["actor"],
        action=row["action"],
        table_name=row["table_name"],
        row_id=row["row_id"],
        changes=row["changes"],
        transaction_id=row["transaction_id"],
        client_addr=row["client_addr"],
        db_user=row["db_user"],
    )


async def search(conn: AsyncConnection, flt: AuditFilter) -> list[AuditEntry]:
    """Entries matching every given filter, newest first."""
    check_filter(flt)
    actor, prefix = flt.actor, False
    if actor is not None and actor.endswith("*"):
        actor, prefix = actor[:-1].replace("%", r"\%").replace("_", r"\_"), True
    params = {
        "table": flt.table,
        "actor": actor,
        "actor_prefix": prefix,
        "action": flt.action,
        "row_id": flt.row_id,
        "since": flt.since,
        "until": flt.until,
        "before_id": flt.before_id,
        "limit": flt.limit,
    }
    rows = await (await conn.execute(Q.search_audit, params)).fetchall()
    return [_entry(r) for r in rows]


async def get_entry(conn: AsyncConnection, entry_id: int) -> AuditEntry:
    row = await (await conn.execute(Q.audit_entry, {"id": entry_id})).fetchone()
    if row is None:
        raise NotFound(f"no audit entry with id {entry_id}", field="id")
    return _entry(row)


async def audited_tables(conn: AsyncConnection) -> list[str]:
    return [r["table_name"] for r in await (await conn.execute(Q.audited_tables)).fetchall()]


async def set_audit_context(conn: AsyncConnection, *, actor: str | None = None, client_addr: str | None = None) -> None:
    """Record who (and from which address) for the rest of the caller's transaction."""
    if actor is not None:
        await conn.execute(Q.set_actor, {"actor": actor})
    if client_addr is not None:
        await conn.execute(Q.set_client_addr, {"addr": client_addr})


async def prune(conn: AsyncConnection, *, keep: timedelta) -> int:
    """Delete entries older than `keep` (at least a day) through aether_audit_prune, which records the
    pruning itself. Needs the owner's rights (aether_owner or the migrating user), not aether_app."""
    row = await (await conn.execute(Q.prune_audit, {"keep": keep})).fetchone()
    return int(row["pruned"]) if row else 0
