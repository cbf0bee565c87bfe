"""One database access layer: one async pool class (`Database`) of psycopg 3 connections, timed
statements, prepared statements for repeated queries, read-only work routed to the replica when configured.
Single connections outside the pool: `connect()` (sync: migrations, backup, restore, maintenance, status)
and `connect_async()`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any, LiteralString, cast
from urllib.parse import parse_qs, urlsplit

import psycopg
from psycopg import sql
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from aether.config import Settings, mask_url
from aether.db.outage import PROBE_AFTER_S, Outage
from aether.db.queries import Query, query_name
from aether.db.stats import STATS
from aether.errors import ConfigError, DatabaseUnavailable

Params = Sequence[Any] | Mapping[str, Any] | None


@contextmanager
def _timed(query: Any) -> Iterator[None]:
    """Record the statement's run time, and whether it failed, under the query's name."""
    start = time.perf_counter()
    error = False
    try:
        yield
    except BaseException:
        error = True
        raise
    finally:
        STATS.record(query_name(query), time.perf_counter() - start, error=error)


class TimedCursor(psycopg.Cursor[DictRow]):
    """Records every execute under the query's name (see aether.db.queries.Query)."""

    def execute(self, query: Any, params: Params = None, **kwargs: Any) -> TimedCursor:
        with _timed(query):
            super().execute(query, params, **kwargs)
        return self

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        with _timed(query):
            super().executemany(query, params_seq, **kwargs)


class AsyncTimedCursor(psycopg.AsyncCursor[DictRow]):
    async def execute(self, query: Any, params: Params = None, **kwargs: Any) -> AsyncTimedCursor:
        with _timed(query):
            await super().execute(query, params, **kwargs)
        return self

    async def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
        with _timed(query):
            await super().executemany(query, params_seq, **kwargs)


Connection = psycopg.Connection[DictRow]
AsyncConnection = psycopg.AsyncConnection[DictRow]


def describe_target(url: str) -> str:
    """`host:port/db as user` for messages, never with a password."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or ["local socket"])[0]
    port = parts.port or 5432
    database = parts.path.lstrip("/") or (query.get("dbname") or ["?"])[0]
    user = parts.username or "current user"
    return f"{host}:{port}/{database} as {user}"


def connection_error(url: str, exc: BaseException) -> DatabaseUnavailable:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    reason = reason.replace(url, mask_url(url))
    return DatabaseUnavailable(f"cannot connect to PostgreSQL at {describe_target(url)}: {reason}")


def connect_kwargs(settings: Settings, *, application: str = "aether") -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "row_factory": dict_row,
        "prepare_threshold": settings.database_prepare_threshold,
        "options": "-c timezone=UTC",
        "application_name": application,
        "connect_timeout": 10,
    }
    return kwargs


def connect(
    url: str, settings: Settings, *, autocommit: bool = False, application: str = "aether", role: str | None = None
) -> Connection:
    """A single connection outside the pool (migrations, LISTEN, admin work); clear error on failure.
    It acts as the URL's user (the owner's connection) unless `role` names a role to SET ROLE to."""
    try:
        conn = psycopg.connect(url, autocommit=autocommit, **connect_kwargs(settings, application=application))
    except psycopg.OperationalError as exc:
        raise connection_error(url, exc) from None
    conn.cursor_factory = TimedCursor
    if role:
        try:
            conn.execute(_role_statement(role))
            if not autocommit:
                conn.commit()
        except psycopg.Error as exc:
            conn.close()
            raise _role_error(role, url, exc) from None
    return cast(Connection, conn)


async def connect_async(
    url: str, settings: Settings, *, autocommit: bool = False, application: str = "aether", role: str | None = None
) -> AsyncConnection:
    try:
        conn = await psycopg.AsyncConnection.connect(
            url, autocommit=autocommit, **connect_kwargs(settings, application=application)
        )
    except psycopg.OperationalError as exc:
        raise connection_error(url, exc) from None
    conn.cursor_factory = AsyncTimedCursor
    if role:
        try:
            await conn.execute(_role_statement(role))
            if not autocommit:
                await conn.commit()
        except psycopg.Error as exc:
            await conn.close()
            raise _role_error(role, url, exc) from None
    return cast(AsyncConnection, conn)


# The audit actor of the work in hand when a transaction names none: the gateway sets `user:<id>` for the
# request of a logged-in user (aether.gateway.deps), so every transaction of that request is audited as them.
current_actor: ContextVar[str | None] = ContextVar("aether_current_actor", default=None)


def _readonly_statement() -> sql.Composed:
    return sql.SQL("SET TRANSACTION READ ONLY").format()


def _role_statement(role: str) -> sql.Composed:
    """AETHER_DATABASE_ROLE: pooled connections act as this role (least privilege, e.g. aether_app)."""
    return sql.SQL("SET ROLE {}").format(sql.Identifier(role))


def _role_error(role: str | None, url: str, exc: psycopg.Error) -> ConfigError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ConfigError(
        f"AETHER_DATABASE_ROLE={role}: cannot SET ROLE on {describe_target(url)}: {reason} "
        "(the migrations create the aether_* roles: run `aether db migrate` first)",
        field="AETHER_DATABASE_ROLE",
    )


async def _check_role(conn: AsyncConnection, settings: Settings, url: str) -> None:
    if settings.database_role:
        try:
            await conn.execute(_role_statement(settings.database_role))
        except psycopg.Error as exc:
            raise _role_error(settings.database_role, url, exc) from None


class Database:
    """The connection pools (gateway, workers, scheduler, CLI, tests): `async with` it, or await open()/close()."""

    def __init__(self, settings: Settings, url: str, replica_url: str | None = None, *, name: str = "aether"):
        self.settings = settings
        self.url = url
        self.replica_url = replica_url
        STATS.slow_query_s = settings.slow_query_ms / 1000
        kwargs = connect_kwargs(settings, application=name)
        self.pool: AsyncConnectionPool[AsyncConnection] = self._make_pool(url, kwargs, f"{name}-primary")
        self.replica_pool: AsyncConnectionPool[AsyncConnection] | None = (
            self._make_pool(replica_url, kwargs, f"{name}-replica") if replica_url else None
        )
        self.outage = Outage(self._prober(url, kwargs))
        self.replica_outage = Outage(self._prober(replica_url, kwargs)) if replica_url else None

    @staticmethod
    def _prober(url: str, kwargs: dict[str, Any]) -> Any:
        async def probe() -> None:
            conn = await psycopg.AsyncConnection.connect(url, **{**kwargs, "connect_timeout": 3})
            await conn.close()

        return probe

    def _make_pool(self, url: str, kwargs: dict[str, Any], name: str) -> AsyncConnectionPool[AsyncConnection]:
        async def configure(conn: AsyncConnection) -> None:
            conn.cursor_factory = AsyncTimedCursor
            if self.settings.database_role:
                await conn.execute(_role_statement(self.settings.database_role))
                await conn.commit()

        return AsyncConnectionPool(
            url,
            min_size=self.settings.pool_min_size,
            max_size=self.settings.pool_max_size,
            timeout=self.settings.pool_timeout,
            kwargs=kwargs,
            configure=configure,
            open=False,
            name=name,
            connection_class=psycopg.AsyncConnection[DictRow],
        )

    async def open(self) -> Database:
        for url, pool in ((self.url, self.pool), (self.replica_url, self.replica_pool)):
            if url is None or pool is None:
                continue
            probe = await connect_async(url, self.settings)
            try:
                if self.settings.database_role:
                    await probe.set_autocommit(True)
                    await _check_role(probe, self.settings, url)
            finally:
                await probe.close()
            await pool.open(wait=False)
        return self

    async def close(self) -> None:
        await self.pool.close()
        if self.replica_pool is not None:
            await self.replica_pool.close()

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def connection(self, *, readonly: bool = False) -> AsyncIterator[AsyncConnection]:
        """A pooled connection (committed on success, rolled back on error). DatabaseUnavailable when the
        server cannot be reached: at once while it is known to be down (aether.db.outage)."""
        replica = readonly and self.replica_pool is not None and self.replica_outage is not None
        pool = self.replica_pool if replica and self.replica_pool is not None else self.pool
        outage = self.replica_outage if replica and self.replica_outage is not None else self.outage
        conn = await self._checkout(pool, outage)
        try:
            async with conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if pool.closed or _is_connection_failure(exc, conn):
                outage.suspect()
                raise connection_error(self.url, exc) from None
            raise
        finally:
            await pool.putconn(conn)

    async def _checkout(self, pool: AsyncConnectionPool[AsyncConnection], outage: Outage) -> AsyncConnection:
        if outage.failing_fast:
            raise DatabaseUnavailable(
                f"cannot connect to PostgreSQL at {describe_target(self.url)}: it was unreachable moments ago"
            )
        if outage.recovering:
            if not await outage.reachable():
                raise DatabaseUnavailable(f"cannot connect to PostgreSQL at {describe_target(self.url)}: unreachable")
            await pool.check()  # the server is back: replace the idle connections the outage broke
        timeout = self.settings.pool_timeout
        first = min(PROBE_AFTER_S, timeout)
        try:
            try:
                return await pool.getconn(timeout=first)
            except PoolTimeout:
                if first >= timeout:
                    raise
            # a long wait: a busy pool, or a server that is gone? one quick probe tells
            if not await outage.reachable():
                raise DatabaseUnavailable(f"cannot connect to PostgreSQL at {describe_target(self.url)}: unreachable")
            return await pool.getconn(timeout=timeout - first)
        except PoolTimeout as exc:
            raise connection_error(self.url, exc) from None
        except psycopg.OperationalError as exc:  # the pool was closed
            raise connection_error(self.url, exc) from None

    @asynccontextmanager
    async def transaction(self, *, readonly: bool = False, actor: str | None = None) -> AsyncIterator[AsyncConnection]:
        async with self.connection(readonly=readonly) as conn, conn.transaction():
            if readonly:
                await conn.execute(_readonly_statement())
            actor = actor if actor is not None else current_actor.get()
            if actor is not None:
                await conn.execute("SELECT set_config('aether.actor', %s, true)", (actor,))
            yield conn

    async def fetch_all(
        self, query: Query | LiteralString, params: Params = None, *, readonly: bool = False
    ) -> list[DictRow]:
        async with self.connection(readonly=readonly) as conn:
            cur = await conn.execute(query, params)
            return await cur.fetchall()

    async def fetch_one(
        self, query: Query | LiteralString, params: Params = None, *, readonly: bool = False
    ) -> DictRow | None:
        async with self.connection(readonly=readonly) as conn:
            cur = await conn.execute(query, params)
            return await cur.fetchone()

    async def execute(self, query: Query | LiteralString, params: Params = None, *, actor: str | None = None) -> int:
        async with self.transaction(actor=actor) as conn:
            cur = await conn.execute(query, params)
            return cur.rowcount


def _is_connection_failure(
    exc: psycopg.OperationalError | psycopg.InterfaceError, conn: AsyncConnection | None = None
) -> bool:
    """The server went away (restart, crash, fail-over, network): the caller may retry later.

    An InterfaceError counts only when the connection it came from is broken or closed (a query cut off
    mid-flight); otherwise it is a programming error and stays one."""
    if conn is not None and (conn.broken or conn.closed):
        return True
    if isinstance(exc, psycopg.InterfaceError):
        return False
    state = getattr(getattr(exc, "diag", None), "sqlstate", None)
    return state is None or str(state).startswith("08") or str(state) in ("57P01", "57P02", "57P03")
