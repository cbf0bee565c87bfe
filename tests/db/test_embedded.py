"""The embedded server: on-demand start, data kept across restarts, clean stop, shared by racing starters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from aether.db.embedded import EmbeddedServer
from aether.errors import EmbeddedServerError

pytestmark = pytest.mark.slow


def test_start_keep_data_restart_stop(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "home")
    url = server.ensure_running()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v text)")
            conn.execute("INSERT INTO kept VALUES ('survives a restart')")
        assert server.status().running
        assert server.stop() is True
        assert not server.status().running
        assert server.stop() is False
        url = server.ensure_running()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone() == ("survives a restart",)
            settings = dict(
                conn.execute(
                    "SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', 'summarize_wal', 'TimeZone')"
                ).fetchall()
            )
        assert settings == {"wal_level": "replica", "summarize_wal": "on", "TimeZone": "UTC"}
    finally:
        server.stop()


def test_two_processes_starting_at_once_share_one_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code = (
        "import sys; from pathlib import Path; from aether.db.embedded import EmbeddedServer;"
        "s = EmbeddedServer(Path(sys.argv[1])); s.ensure_running(); print(s.status().pid)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(home)], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    try:
        pids = [p.communicate(timeout=120)[0].strip() for p in procs]
        assert all(p.returncode == 0 for p in procs)
        assert pids[0] == pids[1] and pids[0].isdigit()
    finally:
        EmbeddedServer(home).stop()


def test_unwritable_home_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(EmbeddedServerError, match=r"AETHER_HOME .*a-file/home is not writable"):
        EmbeddedServer(blocker / "home").ensure_running()


def test_socket_dir_falls_back_for_long_paths(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 120)
    assert str(EmbeddedServer(deep).socket_dir()).startswith("/tmp/aether-") or len(str(tmp_path)) < 0
    assert os.path.basename(str(EmbeddedServer(tmp_path).socket_dir())) == "run"
