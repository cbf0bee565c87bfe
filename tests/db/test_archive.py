"""The archive_command script: a segment is reported stored only once it is in place; a retry of the same
segment succeeds; a different segment under the same name is refused and never overwritten."""

from __future__ import annotations

import subprocess
from pathlib import Path

from aether.db.archive import (
    conf_quote,
    install_archive,
    prune_archive,
    restore_command,
    script_path,
    segment_key,
    system_identifier,
    wal_archive_dir,
)


def _fake_cluster(home: Path, ident: int = 7310000000000000001) -> Path:
    pgdata = home / "pgdata"
    (pgdata / "global").mkdir(parents=True)
    (pgdata / "global" / "pg_control").write_bytes(ident.to_bytes(8, "little") + b"\0" * 100)
    return pgdata


def _archive(home: Path, source: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(script_path(home)), str(source), name], capture_output=True, text=True, check=False)


def test_install_writes_the_script_and_the_setting(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pgdata = _fake_cluster(home)
    owned: list[Path] = []
    line = install_archive(home, pgdata, owned.append)
    archive = wal_archive_dir(home, "7310000000000000001")
    assert system_identifier(pgdata) == "7310000000000000001"
    assert archive.is_dir() and owned == [archive]
    assert line == f"archive_command = '{script_path(home)} %p %f'"
    assert script_path(home).stat().st_mode & 0o755 == 0o755
    assert str(archive) in script_path(home).read_text()


def test_script_copies_then_accepts_retries_and_refuses_conflicts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    install_archive(home, _fake_cluster(home))
    archive = wal_archive_dir(home, "7310000000000000001")
    segment = tmp_path / "000000010000000000000003"
    segment.write_bytes(b"wal" * 1000)

    first = _archive(home, segment, segment.name)
    assert first.returncode == 0, first.stderr
    assert (archive / segment.name).read_bytes() == segment.read_bytes()
    assert not list(archive.glob(".*.tmp"))

    assert _archive(home, segment, segment.name).returncode == 0  # the same segment again: success

    other = tmp_path / "other"
    other.write_bytes(b"different")
    conflict = _archive(home, other, segment.name)
    assert conflict.returncode == 1
    assert "already exists with other contents" in conflict.stderr
    assert (archive / segment.name).read_bytes() == segment.read_bytes()

    assert _archive(home, segment, "../escape").returncode == 2
    missing = _archive(home, tmp_path / "no-such-file", "000000010000000000000004")
    assert missing.returncode == 1 and not (archive / "000000010000000000000004").exists()


def test_prune_keeps_history_and_everything_from_the_oldest_needed(tmp_path: Path) -> None:
    archive = tmp_path / "wal"
    archive.mkdir()
    names = [
        "000000010000000000000001",
        "000000010000000000000002",
        "000000010000000000000002.00000028.backup",
        "000000010000000000000003",
        "000000020000000000000003",
        "000000020000000000000004",
        "00000002.history",
    ]
    for name in names:
        (archive / name).write_text("x")
    removed = prune_archive(archive, "000000010000000000000003")
    assert sorted(removed) == names[:3]
    assert sorted(p.name for p in archive.iterdir()) == sorted(names[3:])
    assert segment_key("000000020000000000000004") == "0000000000000004"


def test_quoting() -> None:
    assert conf_quote("it's") == "'it''s'"
    assert restore_command(Path("/a b/wal")) == "cp '/a b/wal'/%f %p"
