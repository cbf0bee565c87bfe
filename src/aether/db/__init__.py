"""All database access: the embedded server, pools, named queries, migrations."""

from aether.db.connect import open_async_database, primary_url, replica_url
from aether.db.pool import AsyncConnection, AsyncDatabase, Connection, connect, connect_async
from aether.db.queries import Query, load_queries

__all__ = [
    "AsyncConnection",
    "AsyncDatabase",
    "Connection",
    "Query",
    "connect",
    "connect_async",
    "load_queries",
    "open_async_database",
    "primary_url",
    "replica_url",
]
