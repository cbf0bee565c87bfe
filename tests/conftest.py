"""Test set-up: one embedded PostgreSQL per pytest run (shared by xdist workers), a migrated template
database, and a fresh database per test copied from that template."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from aether.config import Settings, load_settings
from aether.db import migrate as migrations
from aether.db.embedded import EmbeddedServer
from aether.db.pool import Connection, Database, connect
from tests.agents.feed_server import FeedServer, start_feed_server, stop_feed_server

TEMPLATE = "aether_template"
LOCK_KEY = 0x7465737473  # serialises template builds and copies across xdist workers

# Tests must never read a developer's own settings.
for _name in list(os.environ):
    if _name.startswith("AETHER_") and not _name.startswith("AETHER_TEST_"):
        del os.environ[_name]

# The server's home lives outside pytest's numbered temp dirs, which a concurrent pytest run may prune.
# The controller creates it before xdist workers start; they inherit the variable.
PG_HOME_VAR = "AETHER_TEST_PG_HOME"


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if not _is_worker(config) and PG_HOME_VAR not in os.environ:
        os.environ[PG_HOME_VAR] = tempfile.mkdtemp(prefix="aether-test-pg-")
        config.stash[_OWNS_HOME] = True


_OWNS_HOME = pytest.StashKey[bool]()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _is_worker(config) or not config.stash.get(_OWNS_HOME, False):
        return
    home = Path(os.environ.pop(PG_HOME_VAR))
    if (home / "pgdata").exists():
        EmbeddedServer(home).stop(mode="immediate")
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> EmbeddedServer:
    server = EmbeddedServer(Path(os.environ[PG_HOME_VAR]))
    server.ensure_running()
    return server


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=True)


def _ensure_template(admin_url: str, template_url: str) -> None:
    with _admin(admin_url) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
            with connect(template_url, load_settings(database_url=template_url), autocommit=True) as tconn:
                migrations.migrate(tconn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


@pytest.fixture(scope="session")
def template_ready(pg_server: EmbeddedServer) -> str:
    _ensure_template(pg_server.url("postgres"), pg_server.url(TEMPLATE))
    return TEMPLATE


def create_database(admin_url: str, template: str | None = None) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    with _admin(admin_url) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            if template:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
            else:
                conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return name


def drop_database(admin_url: str, name: str) -> None:
    with _admin(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(pg_server: EmbeddedServer, template_ready: str) -> Iterator[str]:
    """A fresh, fully migrated database for this test."""
    name = create_database(pg_server.url("postgres"), template_ready)
    yield pg_server.url(name)
    drop_database(pg_server.url("postgres"), name)


@pytest.fixture
def empty_database_url(pg_server: EmbeddedServer) -> Iterator[str]:
    """A fresh database with no schema at all."""
    name = create_database(pg_server.url("postgres"))
    yield pg_server.url(name)
    drop_database(pg_server.url("postgres"), name)


@pytest.fixture
def aether_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def settings(database_url: str, aether_home: Path) -> Settings:
    """This test's settings; tests serve their feeds on 127.0.0.1, so private addresses may be fetched
    (tests of the guard itself turn it back on with `fetch_allow_private=False`)."""
    return load_settings(
        database_url=database_url, home=aether_home, pool_min_size=1, pool_max_size=5, fetch_allow_private=True
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """The pool on this test's database."""
    assert settings.database_url is not None
    async with Database(settings, settings.database_url.get_secret_value()) as database:
        yield database


@pytest.fixture
def adb(db: Database) -> Database:
    """`db` under the name the async tests were first written with: one pool, whichever name a test asks for."""
    return db


@pytest.fixture
def sync_conn(settings: Settings) -> Iterator[Connection]:
    """One sync connection (autocommit) to this test's database, for the APIs that take one (migrations,
    maintenance, analytics partitions) and for quick queries from sync code (threads, HTTP clients);
    `with sync_conn.transaction():` for a transaction."""
    assert settings.database_url is not None
    with connect(settings.database_url.get_secret_value(), settings, autocommit=True) as conn:
        yield conn


@pytest.fixture
def cli_env(settings: Settings, aether_home: Path) -> dict[str, str]:
    """Environment for running the real `aether` command against this test's database (feeds served on
    127.0.0.1 may be fetched: AETHER_FETCH_ALLOW_PRIVATE=true)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AETHER_")}
    assert settings.database_url is not None
    env["AETHER_DATABASE_URL"] = settings.database_url.get_secret_value()
    env["AETHER_HOME"] = str(aether_home)
    env["AETHER_FETCH_ALLOW_PRIVATE"] = "true"
    return env


@pytest.fixture
def external_dsn() -> Iterator[str]:
    """A fresh database on the external PostgreSQL named by AETHER_TEST_EXTERNAL_DSN (skipped when unset)."""
    dsn = os.environ.get("AETHER_TEST_EXTERNAL_DSN")
    if not dsn:
        pytest.skip("AETHER_TEST_EXTERNAL_DSN is not set")
    name = create_database(dsn)
    base, _, _ = dsn.rpartition("/")
    yield f"{base}/{name}"
    drop_database(dsn, name)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A local HTTP server of test feeds and articles (tests/fixtures/feeds)."""
    state = start_feed_server()
    yield state
    stop_feed_server(state)


@pytest.fixture
def other_feed_server() -> Iterator[FeedServer]:
    """A second feed server, on another loopback address (127.0.0.2), so that a test's address policy can
    tell it from `feed_server` (the fetch guard's tests)."""
    state = start_feed_server(host="127.0.0.2")
    yield state
    stop_feed_server(state)
