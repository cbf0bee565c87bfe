"""Numbered `.sql` migrations applied in order, each in its own transaction, recorded with a checksum.

Concurrent runs are serialised by a transaction-level advisory lock taken before each file is applied
(pooler-safe: no session state); an applied file whose checksum changed is refused.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

import psycopg

from aether.db.pool import Connection
from aether.errors import MigrationError

LOCK_KEY = 0x4145544852  # "AETHR"
_FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  checksum CHAR(64) NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  duration_ms NUMERIC NOT NULL DEFAULT 0
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


@dataclass(frozen=True)
class MigrationState:
    migration: Migration
    applied_at: datetime | None
    checksum_ok: bool

    @property
    def status(self) -> str:
        if self.applied_at is None:
            return "pending"
        return "applied" if self.checksum_ok else "modified"


def bundled_directory() -> Path:
    return Path(str(resources.files("aether.db") / "migrations"))


def discover(directory: Path | None = None) -> list[Migration]:
    directory = directory or bundled_directory()
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILENAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file {path.name} must be named NNNN_lowercase_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    duplicates = sorted({v for v in versions if versions.count(v) > 1})
    if duplicates:
        raise MigrationError(f"two migration files share version {duplicates[0]:04d} in {directory}")
    return found


def _applied(conn: Connection) -> dict[int, tuple[str, datetime]]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS present").fetchone()
    if not exists or not exists["present"]:
        return {}
    rows = conn.execute("SELECT version, checksum, applied_at FROM schema_migrations").fetchall()
    return {row["version"]: (row["checksum"], row["applied_at"]) for row in rows}


def status(conn: Connection, migrations: list[Migration] | None = None) -> list[MigrationState]:
    migrations = discover() if migrations is None else migrations
    applied = _applied(conn)
    states = []
    for migration in migrations:
        record = applied.get(migration.version)
        states.append(
            MigrationState(
                migration,
                record[1] if record else None,
                record is None or record[0].strip() == migration.checksum,
            )
        )
    return states


def _check_unchanged(migrations: list[Migration], applied: dict[int, tuple[str, datetime]]) -> None:
    for migration in migrations:
        record = applied.get(migration.version)
        if record is not None and record[0].strip() != migration.checksum:
            raise MigrationError(
                f"migration {migration.filename} was changed after it was applied "
                f"(checksum {record[0].strip()[:12]} in the database, {migration.checksum[:12]} on disk); "
                "add a new migration instead of editing an applied one"
            )


def migrate(conn: Connection, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply every pending migration; returns those this call applied. `conn` must be in autocommit mode."""
    migrations = discover() if migrations is None else migrations
    if not conn.autocommit:
        raise MigrationError("migrate() needs a connection in autocommit mode")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(_CREATE_TABLE)
    done: list[Migration] = []
    for migration in migrations:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            applied = _applied(conn)
            _check_unchanged(migrations, applied)
            if migration.version in applied:
                continue
            started = time.perf_counter()
            try:
                conn.execute(migration.sql)
            except psycopg.Error as exc:
                raise MigrationError(f"migration {migration.filename} failed and was rolled back: {exc}") from None
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum, duration_ms) VALUES (%s, %s, %s, %s)",
                (
                    migration.version,
                    migration.name,
                    migration.checksum,
                    (time.perf_counter() - started) * 1000,
                ),
            )
            done.append(migration)
    with conn.transaction():
        _check_unchanged(migrations, _applied(conn))
    return done


def is_current(conn: Connection) -> bool:
    return all(state.status == "applied" for state in status(conn))
