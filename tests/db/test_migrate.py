"""The migration runner: ordered, transactional, checksummed, serialised across processes."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from aether.config import load_settings
from aether.db import migrate as migrations
from aether.db.pool import connect
from aether.errors import MigrationError


def _conn(url: str):  # type: ignore[no-untyped-def]
    return connect(url, load_settings(database_url=url), autocommit=True)


def _write(directory: Path, files: dict[str, str]) -> list[migrations.Migration]:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return migrations.discover(directory)


def test_bundled_migrations_apply_and_rerun_is_a_no_op(empty_database_url: str) -> None:
    with _conn(empty_database_url) as conn:
        first = migrations.migrate(conn)
        second = migrations.migrate(conn)
        states = migrations.status(conn)
    assert [m.version for m in first] == [m.version for m in migrations.discover()]
    assert second == []
    assert all(s.status == "applied" for s in states)


def test_concurrent_runs_apply_each_migration_once(empty_database_url: str) -> None:
    applied: list[list[migrations.Migration]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with _conn(empty_database_url) as conn:
                applied.append(migrations.migrate(conn))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    versions = sorted(m.version for run_applied in applied for m in run_applied)
    assert versions == [m.version for m in migrations.discover()]
    with psycopg.connect(empty_database_url) as conn:
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert count is not None and count[0] == len(migrations.discover())


def test_a_changed_applied_file_is_refused(empty_database_url: str, tmp_path: Path) -> None:
    found = _write(tmp_path / "m", {"0001_one.sql": "CREATE TABLE one (id int);"})
    with _conn(empty_database_url) as conn:
        migrations.migrate(conn, found)
        changed = _write(
            tmp_path / "m",
            {"0001_one.sql": "CREATE TABLE one (id bigint);", "0002_two.sql": "CREATE TABLE two (id int);"},
        )
        with pytest.raises(MigrationError, match=r"0001_one\.sql was changed after it was applied"):
            migrations.migrate(conn, changed)
        assert [s.status for s in migrations.status(conn, changed)] == ["modified", "pending"]
        assert conn.execute("SELECT to_regclass('two') IS NULL AS absent").fetchone() == {"absent": True}


def test_a_failing_migration_leaves_nothing_half_applied(empty_database_url: str, tmp_path: Path) -> None:
    found = _write(
        tmp_path / "m",
        {
            "0001_ok.sql": "CREATE TABLE ok (id int);",
            "0002_bad.sql": "CREATE TABLE half (id int);\nINSERT INTO half VALUES ('not a number');",
            "0003_later.sql": "CREATE TABLE later (id int);",
        },
    )
    with _conn(empty_database_url) as conn:
        with pytest.raises(MigrationError, match=r"0002_bad\.sql failed and was rolled back"):
            migrations.migrate(conn, found)
        present = conn.execute(
            "SELECT to_regclass('ok') IS NOT NULL AS ok, to_regclass('half') IS NOT NULL AS half, "
            "to_regclass('later') IS NOT NULL AS later"
        ).fetchone()
        assert present == {"ok": True, "half": False, "later": False}
        assert [s.status for s in migrations.status(conn, found)] == ["applied", "pending", "pending"]


def test_badly_named_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "one.sql").write_text("select 1")
    with pytest.raises(MigrationError, match=r"must be named NNNN_lowercase_name\.sql"):
        migrations.discover(tmp_path)


@pytest.mark.external
def test_bundled_migrations_on_the_external_server(external_dsn: str) -> None:
    with _conn(external_dsn) as conn:
        migrations.migrate(conn)
        assert migrations.is_current(conn)
        assert migrations.migrate(conn) == []
