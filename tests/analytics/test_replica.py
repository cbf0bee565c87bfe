"""Analytics reports read from a real streaming replica: made with `pg_basebackup -R` from the test
session's embedded server and started from the wheel's binaries (as `aether-pg` when running as root)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from aether.analytics import ensure_partitions, record
from aether.analytics.dashboards import Period, run_report
from aether.config import Settings
from aether.db import Database, connect
from aether.db.embedded import SYSTEM_USER, EmbeddedServer, _ensure_readable_install, _ensure_system_user, pg_binary
from tests.support import wait_for

pytestmark = pytest.mark.slow


def run_pg(program: str, *args: str) -> None:
    kwargs: dict[str, object] = {}
    if os.geteuid() == 0:
        entry = _ensure_system_user(SYSTEM_USER)
        _ensure_readable_install()
        kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    subprocess.run(
        [str(pg_binary(program)), *args],
        check=True,
        capture_output=True,
        cwd="/",
        timeout=120,
        **kwargs,  # type: ignore[arg-type]
    )


def give_to_server_user(path: Path) -> None:
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    parent = path.parent
    while parent != parent.parent:
        parent.chmod(parent.stat().st_mode | 0o005)
        parent = parent.parent


@pytest.fixture
def replica(pg_server: EmbeddedServer, database_url: str) -> Iterator[str]:
    """A streaming replica of the test server; yields the URL of this test's database on it."""
    root = Path(tempfile.mkdtemp(prefix="aether-replica-"))
    root.chmod(0o755)
    data, sockets = root / "data", Path(tempfile.gettempdir()) / f"aether-rep-{uuid.uuid4().hex[:8]}"
    for folder in (data, sockets):
        folder.mkdir(mode=0o700)
        give_to_server_user(folder)
    run_pg("pg_basebackup", "-D", str(data), "-R", "-X", "stream", "-c", "fast", "-h", str(pg_server.socket_dir()),
           "-U", "postgres")  # fmt: skip
    options = f"-c unix_socket_directories={sockets} -c listen_addresses='' -c logging_collector=off -c hot_standby=on"
    run_pg("pg_ctl", "-D", str(data), "-l", str(data / "replica.log"), "-o", options, "-w", "-t", "60", "start")
    dbname = urlsplit(database_url).path.lstrip("/")
    try:
        yield f"postgresql://postgres@/{dbname}?host={sockets}"
    finally:
        run_pg("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)


def downloads(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM analytics WHERE metric_name = 'episode_downloads'").fetchone()
    assert row is not None
    return int(row[0])


async def test_reports_read_from_the_streaming_replica(database_url: str, replica: str, settings: Settings) -> None:
    today = date.today()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT aether_analytics_create_partition(%s)", (datetime(today.year, today.month, 1),))
    with psycopg.connect(replica) as conn:
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        assert row == (True,)
    with connect(database_url, settings, autocommit=True) as owner, owner.transaction():
        ensure_partitions(owner, 0)
        for _ in range(3):
            record(owner, "episode_downloads", 1, "gateway", episode_id="e1", show_id=1)
    wait_for(lambda: downloads(replica) == 3, timeout=30, what="the replica to catch up")

    with psycopg.connect(replica, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO analytics (metric_name, value, metadata) VALUES ('episode_downloads', 1, "
                     "'{\"episode_id\": \"e1\", \"show_id\": 1}')")  # fmt: skip

    routed = settings.model_copy(update={"database_replica_url": replica})
    period = Period(today - timedelta(days=1), today + timedelta(days=1))
    async with Database(routed, database_url, replica) as adb:
        rows = await run_report(adb, "downloads-by-episode", period, user_id=0, is_admin=True)
        assert rows == [{"episode_id": "e1", "title": "e1", "show_id": "1", "downloads": 3}]  # the paused replica
        async with adb.connection(readonly=True) as conn:
            cur = await conn.execute("SELECT pg_is_in_recovery() AS standby")
            assert (await cur.fetchone()) == {"standby": True}
        async with adb.connection() as conn:
            cur = await conn.execute("SELECT pg_is_in_recovery() AS standby")
            assert (await cur.fetchone()) == {"standby": False}

        with psycopg.connect(replica, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
        wait_for(lambda: downloads(replica) == 4, timeout=30, what="the replica to replay the last row")
        rows = await run_report(adb, "downloads-by-episode", period, user_id=0, is_admin=True)
        assert rows[0]["downloads"] == 4
