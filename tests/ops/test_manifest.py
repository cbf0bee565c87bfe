"""The backup manifest check that stands in for pg_verifybackup (the wheel's copy cannot run)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from aether.ops.manifest import verify_manifest


def _backup(root: Path, files: dict[str, bytes]) -> Path:
    entries = []
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        entries.append({"Path": name, "Size": len(data), "Checksum-Algorithm": "SHA256", "Checksum": digest})
    body = '{ "PostgreSQL-Backup-Manifest-Version": 2,\n"Files": ' + json.dumps(entries) + ',\n"WAL-Ranges": [],\n'
    text = body.encode()
    manifest = text + b'"Manifest-Checksum": "' + hashlib.sha256(text).hexdigest().encode() + b'"}\n'
    (root / "backup_manifest").write_bytes(manifest)
    (root / "pg_wal").mkdir()
    return root


def test_a_sound_backup_passes(tmp_path: Path) -> None:
    check = verify_manifest(_backup(tmp_path, {"PG_VERSION": b"18\n", "base/1/1259": b"x" * 8192}))
    assert check.ok, check.problems
    assert check.files == 2 and check.bytes == 8195


def test_damage_of_every_kind_is_reported(tmp_path: Path) -> None:
    root = _backup(tmp_path, {"PG_VERSION": b"18\n", "base/1/1259": b"x" * 8192, "global/pg_control": b"c" * 64})
    (root / "base/1/1259").write_bytes(b"y" * 8192)  # same size, other bytes
    (root / "global/pg_control").write_bytes(b"short")
    (root / "PG_VERSION").unlink()
    (root / "stray").write_text("not in the manifest")
    (root / "postgresql.auto.conf").write_text("# allowed, as pg_verifybackup allows it")
    problems = verify_manifest(root).problems
    assert "base/1/1259: checksum mismatch (SHA256)" in problems
    assert "global/pg_control has size 5 on disk but 64 in the manifest" in problems
    assert "PG_VERSION is in the manifest but not on disk" in problems
    assert "stray is present on disk but not in the manifest" in problems
    assert len(problems) == 4


def test_an_edited_manifest_is_caught(tmp_path: Path) -> None:
    root = _backup(tmp_path, {"PG_VERSION": b"18\n"})
    manifest = root / "backup_manifest"
    manifest.write_bytes(manifest.read_bytes().replace(b'"Size": 3', b'"Size": 4'))
    problems = verify_manifest(root).problems
    assert "backup_manifest: its checksum does not match its contents" in problems
