"""Least privilege in practice: real `aether api`, `aether worker` and `aether up` processes act as
aether_app by default (on the test's server named by AETHER_DATABASE_URL, and on the embedded server),
cannot do DDL or change audit rows, still run a whole episode, and audit a user's changes as `user:<id>`;
maintenance run by such a worker uses the owner's connection. AETHER_DATABASE_ROLE=none opts out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from aether.config import Settings, load_settings
from aether.db.embedded import EmbeddedServer
from aether.db.pool import Connection, Database, connect, connect_async
from aether.errors import ConfigError
from aether.queue.enqueue import NewTask, enqueue_sync
from aether.security.roles import APP_ROLE, owner_settings, service_settings
from tests.support import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = "tests.security.app_role_handlers"
QUICK = {
    "AETHER_POOL_MIN_SIZE": "1",
    "AETHER_POOL_MAX_SIZE": "6",
    "AETHER_QUEUE_POLL_INTERVAL_S": "0.3",
    "AETHER_WORKER_CPU_POOL": "thread",
    "AETHER_DEMO_CONTENT": "false",
}


# ---- the per-process default ------------------------------------------------------------------


def test_gateway_and_worker_settings_default_to_the_app_role(settings: Settings) -> None:
    assert settings.database_role is None  # library code and other commands: the URL's user
    assert service_settings(settings).database_role == APP_ROLE
    assert service_settings(service_settings(settings)).database_role == APP_ROLE
    for given, effective in (("", None), ("none", None), ("NONE", None), ("aether_readonly", "aether_readonly")):
        explicit = load_settings(database_url=settings.database_url, database_role=given)
        assert service_settings(explicit).database_role == effective
    assert owner_settings(service_settings(settings)).database_role is None
    # behind a transaction-mode pooler a session's SET ROLE would leak: the URL's user decides there
    pooled = settings.model_copy(update={"database_listen": False})
    assert service_settings(pooled).database_role is None


def test_the_environment_decides_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AETHER_DATABASE_ROLE", "")
    assert service_settings(load_settings()).database_role is None
    monkeypatch.setenv("AETHER_DATABASE_ROLE", "none")
    assert service_settings(load_settings()).database_role is None
    monkeypatch.delenv("AETHER_DATABASE_ROLE")
    assert service_settings(load_settings()).database_role == APP_ROLE


async def test_single_connections_take_the_role_they_are_given(settings: Settings, database_url: str) -> None:
    conn = await connect_async(database_url, settings, autocommit=True, role=APP_ROLE)
    try:
        row = await (await conn.execute("SELECT current_user::text AS u")).fetchone()
        assert row == {"u": APP_ROLE}
    finally:
        await conn.close()
    with connect(database_url, settings, role=APP_ROLE) as sync_conn:  # not autocommit: the role outlives commit
        sync_conn.commit()
        assert sync_conn.execute("SELECT current_user::text AS u").fetchone() == {"u": APP_ROLE}
    with connect(database_url, settings) as owner:
        assert owner.execute("SELECT current_user = session_user AS same").fetchone() == {"same": True}
    with pytest.raises(ConfigError) as err:
        connect(database_url, settings, role="no_such_role")
    assert err.value.field == "AETHER_DATABASE_ROLE" and "no_such_role" in err.value.message


# ---- grants after migration 0011 ----------------------------------------------------------------


async def test_every_relation_and_sequence_has_the_app_grants(db: Database) -> None:
    missing = await db.fetch_all(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND (
             (c.relkind IN ('r', 'p', 'v', 'm') AND c.relname NOT IN ('audit_log', 'schema_migrations', 'data_keys')
              AND NOT has_table_privilege('aether_app', c.oid, 'SELECT, INSERT, UPDATE, DELETE'))
             OR (c.relkind = 'S' AND NOT has_sequence_privilege('aether_app', c.oid, 'USAGE, SELECT, UPDATE'))
             OR (c.relkind IN ('r', 'p') AND NOT has_table_privilege('aether_readonly', c.oid, 'SELECT')
                 AND c.relname NOT IN ('users', 'user_sessions')))"""  # column grants there: 0020, test_roles
    )
    assert missing == []
    assert await db.fetch_one(
        "SELECT has_table_privilege('aether_app', 'audit_log', 'UPDATE') AS upd, "
        "has_table_privilege('aether_app', 'data_keys', 'DELETE') AS del, "
        "has_table_privilege('aether_app', 'schema_migrations', 'INSERT') AS ins, "
        "has_table_privilege('aether_app', 'audit_log', 'SELECT') AS audit_read"
    ) == {"upd": False, "del": False, "ins": False, "audit_read": True}


async def test_the_grants_are_reapplied_dynamically(db: Database) -> None:
    await db.execute("REVOKE ALL ON shows, episodes FROM aether_app")
    await db.execute("CREATE TABLE later_table (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY)")
    await db.execute("REVOKE ALL ON later_table FROM aether_app")
    await db.execute("SELECT aether_grant_privileges()")
    row = await db.fetch_one(
        "SELECT has_table_privilege('aether_app', 'shows', 'INSERT') AS shows, "
        "has_table_privilege('aether_app', 'later_table', 'DELETE') AS later, "
        "has_table_privilege('aether_app', 'audit_log', 'INSERT') AS audit"
    )
    assert row == {"shows": True, "later": True, "audit": False}


async def test_the_app_may_create_an_analytics_partition_but_not_drop_one(settings: Settings, db: Database) -> None:
    app_settings = settings.model_copy(update={"database_role": APP_ROLE})
    assert app_settings.database_url is not None
    async with Database(app_settings, app_settings.database_url.get_secret_value()) as app:
        made = await app.fetch_one("SELECT aether_analytics_create_partition('2101-03-15') AS name")
        assert made == {"name": "analytics_p2101_03"}
        await app.execute("INSERT INTO analytics (metric_name, value, recorded_at) VALUES ('m', 1, '2101-03-20')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await app.execute("SELECT aether_analytics_drop_partitions_before('2200-01-01')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await app.execute("DROP TABLE analytics_p2101_03")
    assert await db.fetch_one("SELECT count(*) AS n FROM analytics_p2101_03") == {"n": 1}


# ---- real processes -----------------------------------------------------------------------------


@contextmanager
def spawned(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "aether.cli", *args],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            output = process.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0]
        assert "Traceback" not in (output or ""), output


def _serving(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def gateway(env: dict[str, str]) -> Iterator[httpx.Client]:
    port = free_port()
    with spawned(["api", "--port", str(port)], env) as process:
        wait_for(lambda: process.poll() is not None or _serving(port), timeout=90, what="aether api to serve")
        assert process.poll() is None, "aether api stopped"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client


def _enqueue(conn: Connection, task_type: str, agent: str, payload: dict[str, Any]) -> int:
    with conn.transaction():
        return int(enqueue_sync(conn, NewTask(task_type, agent, payload, max_attempts=1))[0])


def _finished(conn: Connection, task_id: int, *, timeout: float = 60) -> dict[str, Any]:
    """The task's row once it completed or failed."""

    def done() -> dict[str, Any] | None:
        row = conn.execute("SELECT status, result, last_error FROM tasks WHERE id = %s", (task_id,)).fetchone()
        return dict(row) if row and row["status"] in ("completed", "failed") else None

    found = wait_for(done, timeout=timeout, what=f"task {task_id} to finish")
    assert found is not None
    return found


def _register(client: httpx.Client) -> tuple[int, dict[str, str]]:
    email = f"role-{uuid.uuid4().hex[:8]}@example.org"
    r = client.post("/v1/users", json={"email": email, "password": "correct horse 1", "display_name": "R"})
    assert r.status_code == 201, r.text
    r = client.post("/v1/sessions", json={"email": email, "password": "correct horse 1"})
    assert r.status_code == 201, r.text
    return int(r.json()["user"]["id"]), {"Authorization": f"Bearer {r.json()['token']}"}


def _applications(conn: Connection) -> set[str]:
    rows = conn.execute(
        "SELECT DISTINCT application_name AS a FROM pg_stat_activity WHERE datname = current_database()"
    ).fetchall()
    return {str(r["a"]) for r in rows}


@pytest.mark.slow
def test_real_gateway_and_worker_act_as_aether_app_and_audit_the_user(
    cli_env: dict[str, str], sync_conn: Connection
) -> None:
    owner = sync_conn.execute("SELECT session_user::text AS u").fetchone()
    assert owner is not None and owner["u"] != APP_ROLE
    env = {**cli_env, **QUICK}
    whoami = _enqueue(sync_conn, "roletest.whoami", "roletest", {})
    with (
        spawned(["worker", "--handlers", HANDLERS, "--agents", "roletest,maintenance"], env),
        gateway(env) as client,
    ):
        # the worker: its pooled connections act as aether_app, refused DDL and audit changes
        done = _finished(sync_conn, whoami)
        assert done["status"] == "completed", done
        assert done["result"]["current_user"] == APP_ROLE
        assert done["result"]["session_user"] == owner["u"]
        assert done["result"]["refused"] == dict.fromkeys(done["result"]["refused"], "42501")
        wait_for(
            lambda: _applications(sync_conn) >= {"aether-gateway", "aether-worker", "aether-claim"},
            timeout=30,
            what="the gateway's and the worker's connections",
        )

        # the gateway: writes as aether_app; a logged-in user's changes are audited as user:<id>
        user_id, headers = _register(client)
        r = client.post("/v1/shows", json={"title": "Role Show", "description": "d", "author": "a"}, headers=headers)
        assert r.status_code == 201, r.text
        show = r.json()["show"]
        r = client.post(f"/v1/public/shows/{show['slug']}/subscribers", json={"email": "listener@example.org"})
        assert r.status_code == 202, r.text
        r = client.get(f"/v1/shows/{show['id']}/subscribers", headers=headers)
        subscriber_id = r.json()["items"][0]["id"]
        r = client.delete(f"/v1/shows/{show['id']}/subscribers/{subscriber_id}", headers=headers)
        assert r.status_code == 204, r.text
        r = client.put("/v1/me/preferences", json={"episode_minutes": 3}, headers=headers)
        assert r.status_code == 200, r.text
        r = client.delete(f"/v1/shows/{show['id']}", headers=headers)
        assert r.status_code == 204, r.text

        # maintenance jobs that need the owner still work from this aether_app worker
        jobs = {
            job: _enqueue(sync_conn, "maintenance.run", "maintenance", {"job": job})
            for job in ("prune_audit", "reindex")
        }
        for job, task_id in jobs.items():
            finished = _finished(sync_conn, task_id, timeout=120)
            assert finished["status"] == "completed", (job, finished)
            assert finished["result"]["outcome"] == "succeeded", (job, finished)

    audit = sync_conn.execute("SELECT table_name, action, row_id, actor, db_user FROM audit_log ORDER BY id").fetchall()
    users = [a for a in audit if a["table_name"] == "users" and a["row_id"] == str(user_id)]
    assert users and all(a["db_user"] == APP_ROLE for a in users)
    assert users[0]["action"] == "insert" and users[0]["actor"] == "system"  # registering: nobody logged in yet
    subscribers = [a for a in audit if a["table_name"] == "subscribers"]
    assert subscribers and all(a["db_user"] == APP_ROLE for a in subscribers)
    assert (subscribers[0]["action"], subscribers[0]["actor"]) == ("insert", "system")  # an anonymous sign-up
    assert [a["actor"] for a in subscribers if a["action"] == "delete"] == [f"user:{user_id}"]
    shows = [a for a in audit if a["table_name"] == "shows"]
    assert [(a["action"], a["row_id"], a["actor"], a["db_user"]) for a in shows] == [
        ("delete", str(show["id"]), f"user:{user_id}", APP_ROLE)
    ]
    pruning = [a for a in audit if a["table_name"] == "audit_log"]
    assert [(a["actor"], a["db_user"]) for a in pruning] == [("system:maintenance", owner["u"])]


@pytest.mark.slow
def test_database_role_none_keeps_the_urls_user(cli_env: dict[str, str], sync_conn: Connection) -> None:
    owner = sync_conn.execute("SELECT session_user::text AS u").fetchone()
    assert owner is not None
    task_id = _enqueue(sync_conn, "roletest.whoami", "roletest", {})
    env = {**cli_env, **QUICK, "AETHER_DATABASE_ROLE": "none"}
    with spawned(["worker", "--handlers", HANDLERS, "--agents", "roletest"], env):
        done = _finished(sync_conn, task_id)
    assert done["status"] == "completed", done
    assert done["result"]["current_user"] == owner["u"]


@pytest.mark.slow
def test_a_whole_episode_is_made_and_published_under_the_app_role(
    cli_env: dict[str, str], sync_conn: Connection
) -> None:
    from aether.agents.tda.fetch import SAMPLES_FEED

    env = {**cli_env, **QUICK}
    with (
        nullcontext(SAMPLES_FEED) as feed_url,
        spawned(["worker", "--handlers", "aether.podcasts.notifications"], env),
        gateway(env) as client,
    ):
        user_id, headers = _register(client)
        body = {"title": "Role Radio", "description": "d", "author": "a", "sources": [feed_url]}
        r = client.post("/v1/shows", json=body, headers=headers)
        assert r.status_code == 201, r.text
        show = r.json()["show"]
        r = client.post(
            f"/v1/shows/{show['id']}/episodes",
            json={"topic": "Balcony solar panels for renters", "episode_minutes": 1},
            headers={**headers, "X-Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 202, r.text
        episode_id = r.json()["episode"]["id"]

        def published() -> Any:
            got = client.get(f"/v1/episodes/{episode_id}", headers=headers).json()["episode"]
            assert got["status"] != "failed", got
            return got if got["status"] == "published" else None

        episode = wait_for(published, timeout=900, interval=1.0, what="the episode to be published")
        # the feed lists it at once: read before anything opens the episode's page or media
        feed = client.get(f"/shows/{show['slug']}/feed.xml")
        assert feed.status_code == 200 and episode["title"] in feed.text
        assert episode["media"]["audio"] and episode["media"]["audio"] in feed.text
        assert client.get(episode["media"]["audio"]).status_code == 200
    assets = sync_conn.execute(
        "SELECT actor, db_user FROM audit_log WHERE table_name = 'assets' AND action = 'insert'"
    ).fetchall()
    assert assets and all(a["db_user"] == APP_ROLE for a in assets)
    steps = sync_conn.execute("SELECT status FROM task_instances WHERE status <> 'completed'").fetchall()
    assert steps == []
    assert user_id


@pytest.mark.slow
def test_aether_up_on_the_embedded_server_acts_as_aether_app(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AETHER_") or k.startswith("AETHER_TEST_")}
    env |= {
        "AETHER_HOME": str(home),
        "AETHER_POOL_MIN_SIZE": "1",
        "AETHER_WORKER_CPU_POOL": "thread",
        "AETHER_WORKER_SHUTDOWN_TIMEOUT_S": "1",
    }
    port = free_port()
    server = EmbeddedServer(home)
    try:
        with spawned(["up", "--port", str(port)], env) as process:
            wait_for(lambda: process.poll() is not None or _serving(port), timeout=180, what="aether up to serve")
            assert process.poll() is None, "aether up stopped"
            with psycopg.connect(server.url(), autocommit=True) as conn:

                def connected() -> set[str] | None:
                    rows = conn.execute(
                        "SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database()"
                    ).fetchall()
                    apps = {str(r[0]) for r in rows}
                    return apps if {"aether-gateway", "aether-worker", "aether-claim"} <= apps else None

                wait_for(connected, timeout=60, what="the gateway's and the worker's connections")
                # the demo content was written by the gateway side of `aether up`, as aether_app
                demo = conn.execute(
                    "SELECT DISTINCT db_user FROM audit_log WHERE table_name = 'users' AND action = 'insert'"
                ).fetchall()
                assert demo == [(APP_ROLE,)]
                # the worker picks up the demo episode's first step as aether_app
                wait_for(
                    lambda: conn.execute("SELECT 1 FROM tasks WHERE status IN ('in_progress', 'completed')").fetchone(),
                    timeout=120,
                    what="the worker to claim the demo episode's first task",
                )
    finally:
        server.stop()
