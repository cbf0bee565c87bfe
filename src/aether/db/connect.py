"""Where the database is (the configured URL, or the embedded server, started on demand), and a schema
that is current before work begins."""

from __future__ import annotations

from aether.config import Settings
from aether.db.embedded import EmbeddedServer
from aether.db.migrate import Migration, is_current, migrate
from aether.db.pool import Database, connect
from aether.errors import MigrationError


def primary_url(settings: Settings, *, start: bool = True) -> str:
    """AETHER_DATABASE_URL, or the embedded server's URL (starting it unless `start` is False)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    server = EmbeddedServer(settings.home)
    return server.ensure_running() if start else server.url()


def replica_url(settings: Settings) -> str | None:
    return settings.database_replica_url.get_secret_value() if settings.database_replica_url else None


async def open_database(settings: Settings, *, name: str = "aether") -> Database:
    return await Database(settings, primary_url(settings), replica_url(settings), name=name).open()


def migrate_database(settings: Settings) -> list[Migration]:
    """Apply the pending migrations as the URL's user (the schema's owner); returns those applied."""
    with connect(primary_url(settings), settings, autocommit=True) as conn:
        return migrate(conn)


def ensure_schema(settings: Settings) -> None:
    """Make sure the schema is current before work that needs it: the embedded server is migrated on the
    spot (it is Aether's own); an external database is only checked, with one clear line on what to do."""
    if settings.embedded:
        migrate_database(settings)
        return
    with connect(primary_url(settings), settings, autocommit=True) as conn:
        if not is_current(conn):
            raise MigrationError("the database schema is not current: run `aether db migrate` first")
