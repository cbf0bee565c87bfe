"""All database access: the embedded server, pools, named queries, migrations."""

from aether.db.connect import open_database, primary_url, replica_url
from aether.db.pool import AsyncConnection, Connection, Database, connect, connect_async
from aether.db.queries import Query, load_queries

__all__ = [
    "AsyncConnection",
    "Connection",
    "Database",
    "Query",
    "connect",
    "connect_async",
    "load_queries",
    "open_database",
    "primary_url",
    "replica_url",
]
