"""Continuous WAL archiving for the embedded server: the archive_command and the archive it fills.

The archive_command is a small POSIX shell script written to AETHER_HOME/backups/archive-wal.sh
(readable and executable by the server's user, which has no access to Aether's virtual environment).
It copies the segment to a temporary name inside the archive, fsyncs it, renames it into place and
fsyncs the directory, so PostgreSQL hears success only once the segment is safely stored. A segment
that is already archived with the same contents counts as success (a retry after a crash); one with
different contents is an error, never overwritten (two clusters pointed at one archive).

This module imports nothing from aether.db: the embedded server calls it while writing its settings.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

SCRIPT_NAME = "archive-wal.sh"

# A WAL segment, a timeline history file, a backup history file or a partial segment.
WAL_FILE = re.compile(r"^[0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?$|^[0-9A-F]{8}\.history$")
SEGMENT = re.compile(r"^[0-9A-F]{24}$")

SCRIPT = r"""#!/bin/sh
# Written by Aether (aether.db.archive) on every start of the embedded server; do not edit.
# archive_command: archive-wal.sh %p %f -- exit 0 only once the segment is safely stored.
set -u
src="$1"
name="$2"
dest=__ARCHIVE__
case "$name" in
  ""|.*|*/*) echo "archive-wal.sh: refusing file name '$name'" >&2; exit 2 ;;
esac
final="$dest/$name"
if [ -e "$final" ]; then
  if cmp -s "$src" "$final"; then exit 0; fi
  echo "archive-wal.sh: $final already exists with other contents; not overwriting" >&2
  exit 1
fi
tmp="$dest/.$name.tmp"
rm -f "$tmp"
if cp "$src" "$tmp" && sync "$tmp" && mv "$tmp" "$final" && sync "$dest"; then
  exit 0
fi
rm -f "$tmp"
echo "archive-wal.sh: could not store $name in $dest" >&2
exit 1
"""


def backups_root(home: Path) -> Path:
    return home.expanduser().resolve() / "backups"


def system_identifier(pgdata: Path) -> str:
    """The cluster's system identifier: the first field of global/pg_control (a native-endian uint64)."""
    raw = (pgdata / "global" / "pg_control").read_bytes()[:8]
    return str(int.from_bytes(raw, sys.byteorder))


def wal_archive_dir(home: Path, system_id: str) -> Path:
    """Where a cluster's archived WAL lives: AETHER_HOME/backups/wal/<system identifier>.

    One directory per cluster: a cluster initialised anew in the same AETHER_HOME starts its WAL
    names from the beginning again, and must never meet the segments of the one before it.
    """
    return backups_root(home) / "wal" / system_id


def script_path(home: Path) -> Path:
    return backups_root(home) / SCRIPT_NAME


def render_script(archive: Path) -> str:
    return SCRIPT.replace("__ARCHIVE__", shlex.quote(str(archive)))


def conf_quote(value: str) -> str:
    """A postgresql.conf string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def install_archive(home: Path, pgdata: Path, own: Callable[[Path], None] | None = None) -> str:
    """Create the cluster's archive and the script; returns the `archive_command = '...'` line.

    `own(path)` hands a directory to the server's user (when Aether runs as root) so it may write there.
    """
    archive = wal_archive_dir(home, system_identifier(pgdata))
    archive.mkdir(parents=True, exist_ok=True)
    for directory in (archive.parent.parent, archive.parent):
        # the server's user must reach the script and the archive, and read nothing else here
        directory.chmod(directory.stat().st_mode | 0o711)
    if own is not None:
        own(archive)
    script = script_path(home)
    text = render_script(archive)
    if not script.exists() or script.read_text() != text:
        tmp = script.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, script)
    return f"archive_command = {conf_quote(f'{shlex.quote(str(script))} %p %f')}"


def restore_command(archive: Path) -> str:
    """The restore_command a recovering cluster uses to fetch segments from `archive`."""
    return f"cp {shlex.quote(str(archive))}/%f %p"


def segment_key(name: str) -> str:
    """Log and segment number of a WAL file name (timeline stripped): orders segments across timelines."""
    return name[8:24]


def archived_files(archive: Path) -> list[Path]:
    if not archive.is_dir():
        return []
    return sorted(p for p in archive.iterdir() if p.is_file() and WAL_FILE.match(p.name))


def prune_archive(archive: Path, oldest_needed: str) -> list[str]:
    """Remove archived segments (and backup history files) older than the segment `oldest_needed`.

    Timeline history files are always kept; they are tiny and recovery needs them to follow timelines.
    """
    removed: list[str] = []
    keep_from = segment_key(oldest_needed)
    for path in archived_files(archive):
        if path.name.endswith(".history"):
            continue
        if segment_key(path.name) < keep_from:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed
