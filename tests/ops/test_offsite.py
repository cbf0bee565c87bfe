"""Off-site copies through obstore: a directory location, and a bad URL named by its setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from aether.errors import ValidationFailed
from aether.ops.offsite import Offsite


def test_directory_location_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "backup"
    (source / "data" / "base").mkdir(parents=True)
    (source / "data" / "base" / "1").write_bytes(b"\x00" * 10000)
    (source / "backup.json").write_text("{}")
    offsite = Offsite(f"file://{tmp_path / 'far'}")
    assert offsite.put_tree("base/b1", source) == 2
    assert offsite.keys("base") == {"base/b1/backup.json", "base/b1/data/base/1"}
    fetched = tmp_path / "fetched"
    assert offsite.get_tree("base/b1", fetched) == 2
    assert (fetched / "data" / "base" / "1").read_bytes() == b"\x00" * 10000
    assert offsite.delete_prefix("base/b1") == 2
    assert offsite.keys("base") == set()


def test_wal_push_copies_only_what_is_missing_and_prunes_old(tmp_path: Path) -> None:
    archive = tmp_path / "wal"
    archive.mkdir()
    for name in ("000000010000000000000001", "000000010000000000000002", "00000002.history"):
        (archive / name).write_text(name)
    (archive / ".000000010000000000000003.tmp").write_text("in flight")
    offsite = Offsite(str(tmp_path / "far"))
    assert offsite.push_wal("42", archive) == 3
    assert offsite.push_wal("42", archive) == 0
    assert offsite.prune_wal("42", "000000010000000000000002") == 1
    assert offsite.keys("wal/42") == {"wal/42/000000010000000000000002", "wal/42/00000002.history"}


def test_unsupported_location_names_the_setting() -> None:
    with pytest.raises(ValidationFailed, match="AETHER_BACKUP_OFFSITE_URL must be a directory") as info:
        Offsite("ftp://example.org/backups")
    assert info.value.field == "AETHER_BACKUP_OFFSITE_URL"
