"""Scale-out on an external PostgreSQL (AETHER_TEST_EXTERNAL_DSN, e.g. the machine's PostgreSQL 15): two
`aether worker` processes and `aether api` share one database; the work is shared and nothing runs twice.
Behind PgBouncer in transaction mode (AETHER_DATABASE_LISTEN=false, prepared statements off) workers find
their work by polling alone and the gateway serves; without a pgbouncer binary the same settings run on the
database directly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from aether.agents.tda.fetch import SAMPLES_FEED
from aether.config import load_settings
from aether.db.pool import connect
from aether.queue import NewTask, enqueue_sync
from tests.ops import fleet
from tests.queue.handlers_for_tests import AGENT, TABLES_SQL
from tests.support import run_aether, wait_for

pytestmark = pytest.mark.slow

HANDLERS = "tests.queue.handlers_for_tests"
TASKS = 120
CORE_STEPS = {"discover", "snippets", "script", "cover", "music", "voice"}  # the plan may add more (video ...)


def _rows(url: str, query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def _prepare(dsn: str) -> None:
    """Migrate the fresh database as an operator would, and add the test handlers' tables."""
    env = fleet.base_env(AETHER_DATABASE_URL=dsn)
    migrated = run_aether(["db", "migrate"], env, timeout=300)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(TABLES_SQL)
        # tables made by the URL's user: let the least-privilege role use them when it exists
        conn.execute(
            """DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aether_app') THEN
                 GRANT SELECT, INSERT ON qtest_runs, qtest_effects TO aether_app;
                 GRANT USAGE ON SEQUENCE qtest_effects_id_seq TO aether_app;
               END IF; END $$"""
        )


def _enqueue(dsn: str, tasks: list[NewTask]) -> list[int]:
    with connect(dsn, load_settings(database_url=dsn)) as conn, conn.transaction():
        return enqueue_sync(conn, tasks)


def _all_completed(dsn: str, ids: list[int], procs: fleet.Fleet) -> bool:
    procs.check_alive()
    rows = _rows(dsn, "SELECT status FROM tasks WHERE id = ANY(%s)", (ids,))
    return len(rows) == len(ids) and all(r["status"] == "completed" for r in rows)


def test_two_workers_and_the_gateway_share_the_work(external_dsn: str, tmp_path: Path) -> None:
    _prepare(external_dsn)
    env = fleet.base_env(AETHER_DATABASE_URL=external_dsn)
    with fleet.fleet(env, tmp_path / "logs") as procs, nullcontext(SAMPLES_FEED) as feed_url:
        _, api_url = procs.api()
        procs.worker("worker-1", "--handlers", HANDLERS)
        procs.worker("worker-2", "--handlers", HANDLERS)
        with httpx.Client(base_url=api_url, timeout=60) as client:
            auth = fleet.account(client)
            made = fleet.show(client, auth, "Scale Out Radio")
            started = [
                fleet.start_episode(client, auth, made["id"], f"Scaled {n}", hosts, feed_url)
                for n, hosts in enumerate((["Alex", "Sam"], ["Ada", "Bo"]))
            ]
        ids = _enqueue(external_dsn, [NewTask("qtest.record", AGENT, {"sleep": 0.05}) for _ in range(TASKS)])
        wait_for(lambda: _all_completed(external_dsn, ids, procs), timeout=120, what="every queued task to complete")
        workflows = [s["workflow_id"] for s in started]

        def finished() -> bool:
            procs.check_alive()
            rows = _rows(
                external_dsn, "SELECT status FROM workflow_instances WHERE workflow_id = ANY(%s::uuid[])", (workflows,)
            )
            assert not [r for r in rows if r["status"] in ("failed", "cancelled")], procs.report()
            return len(rows) == len(workflows) and all(r["status"] == "completed" for r in rows)

        wait_for(finished, timeout=240, interval=0.5, what="both workflows to complete")

    runs = _rows(external_dsn, "SELECT task_id, pid FROM qtest_runs")
    assert sorted(r["task_id"] for r in runs) == sorted(ids)  # each task ran exactly once
    assert len({r["pid"] for r in runs}) == 2  # and both workers ran some
    owners = _rows(external_dsn, "SELECT DISTINCT lease_owner FROM tasks WHERE id = ANY(%s)", (ids,))
    assert len(owners) == 2
    assert {r["attempts"] for r in _rows(external_dsn, "SELECT attempts FROM tasks WHERE id = ANY(%s)", (ids,))} == {1}
    steps = _rows(
        external_dsn,
        """SELECT t.workflow_id::text AS workflow_id, t.step_name, t.status, t.attempts
           FROM tasks t WHERE t.workflow_id = ANY(%s::uuid[])""",
        (workflows,),
    )
    for workflow in workflows:
        mine = [s for s in steps if s["workflow_id"] == workflow]
        names = [s["step_name"] for s in mine]
        assert len(names) == len(set(names)) and set(names) >= CORE_STEPS  # one task per step
        assert {(s["status"], s["attempts"]) for s in mine} == {("completed", 1)}, mine  # each ran once


# ---- PgBouncer in transaction mode ----------------------------------------------------------------


def _pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )


@pytest.fixture
def pooled_dsn(external_dsn: str) -> Iterator[str]:
    """A PgBouncer (transaction pooling) in front of the test's database, started on a free port; without a
    pgbouncer binary, the database itself (the same client settings are then tested without a pooler)."""
    binary = _pgbouncer()
    if binary is None:
        yield external_dsn
        return
    target = psycopg.conninfo.conninfo_to_dict(external_dsn)
    base = Path(tempfile.mkdtemp(prefix="aether-pgbouncer-"))
    base.chmod(0o755)  # PgBouncer refuses root: it runs as the server's system user and reads this directory
    port = fleet.free_port()
    user = str(target.get("user") or "postgres")
    (base / "users.txt").write_text(f'"{user}" ""\n')
    server = f"host={target.get('host') or '127.0.0.1'} port={target.get('port') or 5432}"
    if target.get("password"):
        server += f" password={target['password']}"
    (base / "pgbouncer.ini").write_text(
        f"""[databases]
* = {server}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {base / "users.txt"}
pool_mode = transaction
; libpq's `options` (Aether sends -c timezone=UTC) cannot pass a transaction pooler: the database's own
; setting (ALTER DATABASE ... SET timezone) takes its place
ignore_startup_parameters = extra_float_digits,options
max_client_conn = 500
default_pool_size = 20
"""
    )
    for path in base.iterdir():
        path.chmod(0o644)
    command = [binary, str(base / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    log = base / "pgbouncer.log"  # its log goes to stderr: into a file this process opens
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=base)
    pooled = f"postgresql://{user}@127.0.0.1:{port}/{target['dbname']}"
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"pgbouncer exited: {log.read_text(errors='replace')[-2000:]}")
            try:
                with psycopg.connect(pooled, connect_timeout=2, prepare_threshold=None) as conn:
                    return conn.execute("SELECT 1").fetchone() == (1,)
            except psycopg.OperationalError:
                return False

        wait_for(answers, timeout=30, interval=0.1, what="pgbouncer to accept connections")
        yield pooled
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(base, ignore_errors=True)


def test_behind_pgbouncer_transaction_mode_workers_poll_and_the_gateway_serves(
    external_dsn: str, pooled_dsn: str, tmp_path: Path
) -> None:
    _prepare(external_dsn)
    database = psycopg.conninfo.conninfo_to_dict(external_dsn)["dbname"]
    with psycopg.connect(external_dsn, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE \"{database}\" SET timezone TO 'UTC'")
    env = fleet.base_env(
        AETHER_DATABASE_URL=pooled_dsn,
        AETHER_DATABASE_LISTEN="false",
        AETHER_DATABASE_PREPARE_THRESHOLD="",
        AETHER_DATABASE_ROLE="",  # SET ROLE is session state: behind PgBouncer, log in as the role instead
    )
    with fleet.fleet(env, tmp_path / "logs") as procs:
        _, api_url = procs.api()
        procs.worker("worker", "--handlers", HANDLERS)
        first = _enqueue(external_dsn, [NewTask("qtest.record", AGENT, {}) for _ in range(30)])
        wait_for(lambda: _all_completed(external_dsn, first, procs), timeout=60, what="the first batch")
        # work that arrives while the worker idles is found by polling (no LISTEN, no NOTIFY reaches it)
        later = _enqueue(external_dsn, [NewTask("qtest.effect", AGENT, {}) for _ in range(10)])
        wait_for(lambda: _all_completed(external_dsn, later, procs), timeout=60, what="the second batch")
        with httpx.Client(base_url=api_url, timeout=30) as client:
            auth = fleet.account(client)
            made = fleet.show(client, auth, "Pooled Radio")
            for _ in range(8):  # more than the default prepare threshold: nothing may be prepared
                r = client.get(f"/v1/shows/{made['id']}", headers=auth)
                assert r.status_code == 200, r.text
        listeners = _rows(
            external_dsn,
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = %s AND query ILIKE 'LISTEN%%'",
            (database,),
        )
        assert listeners[0]["n"] == 0
        procs.check_alive()
    output = "\n".join(p.output() for p in procs.processes)
    assert "LISTEN" not in output and "prepared statement" not in output, procs.report()
    runs = _rows(external_dsn, "SELECT task_id FROM qtest_runs")
    assert sorted(r["task_id"] for r in runs) == sorted(first + later)
    effects = _rows(external_dsn, "SELECT task_id FROM qtest_effects")
    assert sorted(r["task_id"] for r in effects) == sorted(later)
