"""`aether credentials review`: after a restore, the credentials that must be re-issued.

The restore writes a `restore_events` row into the restored database with the metadata (never the
values) of the credentials the database held just before it was restored over. Comparing that with the
restored credentials shows what the restore undid:

* changed after the backup: rotated later, so the restored value is stale;
* issued after the backup: lost by the restore;
* removed after the backup: back again, so revoke it at the platform once more;
* expired: expires_at has passed (many of these expired while the backup aged).

Only the metadata columns id, agent_id, platform, credential_key, expires_at and updated_at are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from aether.db import Connection, load_queries

Q = load_queries(__file__, "review.sql")


@dataclass
class ReviewItem:
    credential_id: int
    agent: str | None
    platform: str
    credential_key: str
    reason: str
    action: str
    expires_at: str | None = None
    updated_at: str | None = None


@dataclass
class Review:
    restore: dict[str, Any] | None
    items: list[ReviewItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"restore": self.restore, "items": [vars(i) for i in self.items], "notes": self.notes}


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).isoformat()
    if isinstance(value, str):
        return _iso(datetime.fromisoformat(value))
    return None


def _when(value: Any) -> datetime | None:
    iso = _iso(value)
    return datetime.fromisoformat(iso) if iso else None


def review_credentials(conn: Connection, *, now: datetime | None = None, mark_reviewed: bool = False) -> Review:
    now = now or datetime.now(UTC)
    try:
        event = conn.execute(Q.latest_restore).fetchone()
    except psycopg.errors.UndefinedTable:
        event = None
        if not conn.autocommit:
            conn.rollback()
    current = [dict(r) for r in conn.execute(Q.credential_metadata).fetchall()]
    review = Review(
        restore=None
        if event is None
        else {
            "backup_id": event["backup_id"],
            "restored_at": _iso(event["restored_at"]),
            "target_time": _iso(event["target_time"]),
            "recovered_to": _iso(event["recovered_to"]),
            "reviewed_at": _iso(event["reviewed_at"]),
        }
    )
    before = None if event is None else event["credentials_before"]
    by_id = {int(c["id"]): c for c in current}
    listed: set[tuple[int, str]] = set()

    def add(row: dict[str, Any], reason: str, action: str) -> None:
        key = (int(row["id"]), reason)
        if key in listed:
            return
        listed.add(key)
        review.items.append(
            ReviewItem(
                credential_id=int(row["id"]),
                agent=row.get("agent") or (str(row["agent_id"]) if row.get("agent_id") is not None else None),
                platform=str(row["platform"]),
                credential_key=str(row["credential_key"]),
                reason=reason,
                action=action,
                expires_at=_iso(row.get("expires_at")),
                updated_at=_iso(row.get("updated_at")),
            )
        )

    if event is None:
        review.notes.append("no restore is recorded in this database: only expired credentials are listed")
    elif before is None:
        review.notes.append(
            "the restore could not read the credentials it replaced: every credential rotated after "
            f"{review.restore['recovered_to'] if review.restore else 'the backup'} must be re-issued; "
            "each one is listed for checking"
        )
        for row in current:
            add(row, "state after the backup unknown", "check with the platform; re-issue if it was rotated")
    else:
        previous = {int(c["id"]): c for c in before}
        for cid, old in sorted(previous.items()):
            restored = by_id.get(cid)
            if restored is None:
                add(old, "issued after the backup (lost by the restore)", "re-issue it and add it again")
                continue
            if old.get("platform") != restored["platform"] or old.get("credential_key") != restored["credential_key"]:
                add(restored, "id now names another credential", "re-issue both")
                continue
            old_updated, restored_updated = _when(old.get("updated_at")), _when(restored.get("updated_at"))
            if old_updated and (restored_updated is None or old_updated > restored_updated):
                add(restored, "changed after the backup (the restored value is stale)", "re-issue it")
        for cid, row in sorted(by_id.items()):
            if cid not in previous:
                add(row, "removed after the backup (back after the restore)", "revoke it at the platform, remove it")
    for row in current:
        expires = _when(row.get("expires_at"))
        if expires is not None and expires <= now:
            add(row, "expired", "re-issue it")
    if mark_reviewed and event is not None:
        conn.execute(Q.mark_reviewed, {"id": event["id"]})
    return review
