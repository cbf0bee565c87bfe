"""The database: the PostgreSQL URL (unset = the embedded server), a read replica, the pool and its limits.

A URL that is set must be a postgresql:// URL naming a database; its password never appears in an error.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from aether.config.base import Section, mask_url


class DatabaseSettings(Section):
    heading = "Database"

    database_url: SecretStr | None = Field(
        None, description="PostgreSQL URL (postgresql://user:pass@host:port/db); unset = embedded server."
    )
    database_replica_url: SecretStr | None = Field(
        None, description="Optional read replica URL; read-only queries (analytics, lists) go there."
    )
    pool_min_size: int = Field(5, ge=0, le=1000, description="Connections kept open per process.")
    pool_max_size: int = Field(20, ge=1, le=1000, description="Most connections per process.")
    pool_timeout: float = Field(30.0, gt=0, le=3600, description="Seconds to wait for a free connection.")
    database_prepare_threshold: int | None = Field(
        5,
        ge=0,
        description="Executions after which a query is prepared server-side; empty or `none` disables it "
        "(PgBouncer before 1.21 in transaction mode).",
    )
    database_listen: bool = Field(
        True, description="Use LISTEN/NOTIFY to wake workers; false behind PgBouncer transaction mode."
    )
    slow_query_ms: float = Field(500.0, ge=0, description="Queries slower than this are logged by name.")

    @field_validator("database_prepare_threshold", mode="before")
    @classmethod
    def _check_prepare_threshold(cls, value: Any) -> Any:
        """`AETHER_DATABASE_PREPARE_THRESHOLD=` (empty) or `none` turns server-side prepared statements off."""
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "off")):
            return None
        return value

    @field_validator("database_url", "database_replica_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        raw = value.get_secret_value().strip()
        field = f"AETHER_{str(info.field_name).upper()}"
        parts = urlsplit(raw)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(
                f"{field} must be a postgresql:// URL (got scheme {parts.scheme or 'none'!r} in {mask_url(raw)})"
            )
        try:
            _ = parts.port
        except ValueError as exc:
            raise ValueError(f"{field} has an invalid port in {mask_url(raw)}") from exc
        if not parts.path.strip("/") and "dbname=" not in parts.query:
            raise ValueError(f"{field} must name a database, e.g. postgresql://user@host:5432/aether")
        return SecretStr(raw)

    @field_validator("pool_max_size")
    @classmethod
    def _check_pool(cls, value: int, info: ValidationInfo) -> int:
        minimum = info.data.get("pool_min_size", 0)
        if value < minimum:
            raise ValueError(f"must be at least AETHER_POOL_MIN_SIZE ({minimum})")
        return value

    @property
    def embedded(self) -> bool:
        """True when Aether runs its own PostgreSQL (no AETHER_DATABASE_URL)."""
        return self.database_url is None
