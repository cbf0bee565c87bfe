"""The backup catalogue: each backup's record on disk (backup.json beside its files) and in `backups`.

The file is what a restore trusts (the database may be the thing being restored); the table is what
lists, metrics and other machines see. `list_backups` merges both.

Layout under AETHER_HOME/backups:

    base/<id>/data/          a plain-format pg_basebackup (full or incremental) with its backup_manifest
    base/<id>/backup.json    its record
    logical/<id>/aether.dump a pg_dump custom-format archive (external databases)
    logical/<id>/backup.json
    wal/<system id>/         the WAL archive of the embedded cluster (aether.db.archive)
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from aether.db import Connection, load_queries
from aether.db.archive import backups_root
from aether.errors import OpsError

Q = load_queries(__file__, "backup.sql")

META = "backup.json"
PHYSICAL = ("full", "incremental")


@dataclass
class BackupRecord:
    id: str
    kind: str
    status: str
    location: str
    parent_id: str | None = None
    database: str | None = None
    server_version: str | None = None
    system_identifier: str | None = None
    timeline: int | None = None
    start_lsn: str | None = None
    end_lsn: str | None = None
    start_wal: str | None = None
    check_lsn: str | None = None
    size_bytes: int | None = None
    row_counts: dict[str, int] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    offsite_url: str | None = None
    offsite_copied_at: datetime | None = None
    verified_at: datetime | None = None
    verify_status: str | None = None
    verify_detail: dict[str, Any] | None = None
    error: str | None = None
    on_disk: bool = False

    @property
    def physical(self) -> bool:
        return self.kind in PHYSICAL

    @property
    def path(self) -> Path:
        return Path(self.location)

    @property
    def data_dir(self) -> Path:
        return self.path / "data"

    @property
    def dump_file(self) -> Path:
        return self.path / "aether.dump"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("on_disk")
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = as_utc(value).isoformat()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BackupRecord:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("started_at", "finished_at", "offsite_copied_at", "verified_at"):
            if isinstance(values.get(key), str):
                values[key] = datetime.fromisoformat(values[key])
        return cls(**values)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BackupRecord:
        values = dict(row)
        for key in ("started_at", "finished_at", "offsite_copied_at", "verified_at"):
            if values.get(key) is not None:
                values[key] = as_utc(values[key])
        values["row_counts"] = values.get("row_counts") or {}
        return cls.from_json({k: v for k, v in values.items() if v is not None or k == "parent_id"})


def as_utc(value: datetime) -> datetime:
    """Naive timestamps from the database are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value).replace(tzinfo=None)


def new_backup_id(kind: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{kind}"


class BackupStore:
    """The backups directory of one AETHER_HOME."""

    def __init__(self, home: Path) -> None:
        self.root = backups_root(home)

    def base_dir(self, backup_id: str) -> Path:
        return self.root / "base" / backup_id

    def logical_dir(self, backup_id: str) -> Path:
        return self.root / "logical" / backup_id

    def dir_for(self, kind: str, backup_id: str) -> Path:
        return self.base_dir(backup_id) if kind in PHYSICAL else self.logical_dir(backup_id)

    def wal_dir(self, system_identifier: str) -> Path:
        return self.root / "wal" / system_identifier

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One backup, retention or restore at a time on this machine."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def write(self, record: BackupRecord) -> None:
        target = record.path / META
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(record.to_json(), indent=2, sort_keys=True))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)

    def read(self, directory: Path) -> BackupRecord | None:
        try:
            data = json.loads((directory / META).read_text())
        except (OSError, ValueError):
            return None
        record = BackupRecord.from_json(data)
        record.location = str(directory)
        record.on_disk = True
        return record

    def records(self) -> list[BackupRecord]:
        found: list[BackupRecord] = []
        for sub in ("base", "logical"):
            parent = self.root / sub
            if not parent.is_dir():
                continue
            for directory in sorted(parent.iterdir()):
                record = self.read(directory) if directory.is_dir() else None
                if record is not None:
                    found.append(record)
        return sorted(found, key=lambda r: (r.started_at or datetime.min.replace(tzinfo=UTC), r.id))


def catalogue_rows(conn: Connection, *, include_removed: bool = False) -> list[BackupRecord]:
    rows = conn.execute(Q.list_backups, {"include_removed": include_removed}).fetchall()
    return [BackupRecord.from_row(dict(row)) for row in rows]


def merge(disk: list[BackupRecord], catalogue: list[BackupRecord]) -> list[BackupRecord]:
    """Disk records (what exists) enriched with the catalogue's verification and off-site state."""
    by_id = {r.id: r for r in catalogue}
    merged: list[BackupRecord] = []
    for record in disk:
        row = by_id.pop(record.id, None)
        if row is not None:
            for name in ("verified_at", "verify_status", "verify_detail", "offsite_url", "offsite_copied_at"):
                if getattr(record, name) is None:
                    setattr(record, name, getattr(row, name))
        merged.append(record)
    merged.extend(by_id.values())
    return sorted(merged, key=lambda r: (r.started_at or datetime.min.replace(tzinfo=UTC), r.id))


def upsert(conn: Connection, record: BackupRecord) -> None:
    """Make the catalogue know a completed backup found on disk (after a restore, or another writer)."""
    conn.execute(Q.upsert_backup, catalogue_params(record))


def catalogue_params(record: BackupRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "parent_id": record.parent_id,
        "location": record.location,
        "server_version": record.server_version,
        "system_identifier": record.system_identifier,
        "timeline": record.timeline,
        "start_lsn": record.start_lsn,
        "end_lsn": record.end_lsn,
        "start_wal": record.start_wal,
        "check_lsn": record.check_lsn,
        "size_bytes": record.size_bytes,
        "row_counts": Jsonb(record.row_counts),
        "started_at": naive_utc(record.started_at),
        "finished_at": naive_utc(record.finished_at),
    }


def chain(record: BackupRecord, by_id: dict[str, BackupRecord]) -> list[BackupRecord]:
    """The backups a restore of `record` needs, full first."""
    out = [record]
    seen = {record.id}
    while out[-1].parent_id is not None:
        parent = by_id.get(out[-1].parent_id)
        if parent is None or parent.id in seen:
            raise OpsError(f"backup {record.id} needs {out[-1].parent_id}, which is not on disk")
        seen.add(parent.id)
        out.append(parent)
    return list(reversed(out))
