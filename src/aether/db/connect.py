"""Where the database is: the configured URL, or the embedded server (started on demand)."""

from __future__ import annotations

from aether.config import Settings
from aether.db.embedded import EmbeddedServer
from aether.db.pool import AsyncDatabase, Database


def primary_url(settings: Settings, *, start: bool = True) -> str:
    """AETHER_DATABASE_URL, or the embedded server's URL (starting it unless `start` is False)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    server = EmbeddedServer(settings.home)
    return server.ensure_running() if start else server.url()


def replica_url(settings: Settings) -> str | None:
    return settings.database_replica_url.get_secret_value() if settings.database_replica_url else None


def open_database(settings: Settings, *, name: str = "aether") -> Database:
    return Database(settings, primary_url(settings), replica_url(settings), name=name).open()


async def open_async_database(settings: Settings, *, name: str = "aether") -> AsyncDatabase:
    return await AsyncDatabase(settings, primary_url(settings), replica_url(settings), name=name).open()
