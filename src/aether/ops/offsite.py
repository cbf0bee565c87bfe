"""Off-site copies of backups and archived WAL (AETHER_BACKUP_OFFSITE_URL) through obstore.

The location is a directory (a plain path or file://), gs://bucket/prefix or s3://bucket/prefix;
credentials for the clouds come from the usual environment variables (GOOGLE_APPLICATION_CREDENTIALS,
AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_S3 ...). Objects mirror the local layout: base/<id>/...,
logical/<id>/..., wal/<system id>/<segment>.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import obstore
from obstore.store import LocalStore, ObjectStore, from_url

from aether.db.archive import segment_key
from aether.errors import OpsError, ValidationFailed

FIELD = "AETHER_BACKUP_OFFSITE_URL"


def open_store(url: str) -> ObjectStore:
    scheme = urlsplit(url).scheme
    try:
        if scheme in ("", "file"):
            path = Path(urlsplit(url).path if scheme == "file" else url).expanduser().resolve()
            return LocalStore(prefix=path, mkdir=True, automatic_cleanup=True)
        if scheme in ("gs", "s3", "s3a", "memory"):
            return from_url(url)
    except Exception as exc:  # obstore raises its own error types for bad configuration
        raise ValidationFailed(f"{FIELD}: cannot open {url}: {exc}", field=FIELD) from None
    raise ValidationFailed(
        f"{FIELD} must be a directory, file://, gs://bucket/prefix or s3://bucket/prefix (got {scheme}://)",
        field=FIELD,
    )


class Offsite:
    def __init__(self, url: str) -> None:
        self.url = url
        self.store = open_store(url)

    def keys(self, prefix: str) -> set[str]:
        found: set[str] = set()
        try:
            for batch in obstore.list(self.store, prefix=prefix):
                found.update(meta["path"] for meta in batch)
        except FileNotFoundError:
            return set()
        except Exception as exc:
            raise OpsError(f"cannot list {prefix} at {self.url}: {exc}") from None
        return found

    def put_file(self, key: str, path: Path) -> None:
        try:
            obstore.put(self.store, key, path)
        except Exception as exc:
            raise OpsError(f"cannot copy {path} to {self.url}/{key}: {exc}") from None

    def put_tree(self, prefix: str, directory: Path) -> int:
        """Copy every file under `directory` to `prefix/...`; returns the number of files."""
        count = 0
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not path.is_symlink():
                self.put_file(f"{prefix}/{path.relative_to(directory).as_posix()}", path)
                count += 1
        return count

    def get_tree(self, prefix: str, directory: Path) -> int:
        """Fetch every object under `prefix/` into `directory`; returns the number of files."""
        count = 0
        for key in sorted(self.keys(prefix)):
            relative = key[len(prefix) :].lstrip("/")
            if not relative:
                continue
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                data = obstore.get(self.store, key).bytes()
            except Exception as exc:
                raise OpsError(f"cannot fetch {self.url}/{key}: {exc}") from None
            target.write_bytes(bytes(data))
            count += 1
        return count

    def delete_prefix(self, prefix: str) -> int:
        keys = sorted(self.keys(prefix))
        if keys:
            try:
                obstore.delete(self.store, keys)
            except Exception as exc:
                raise OpsError(f"cannot delete {prefix} at {self.url}: {exc}") from None
        return len(keys)

    def push_wal(self, system_id: str, archive: Path) -> int:
        """Copy archived WAL files that the off-site copy lacks; returns how many were copied."""
        prefix = f"wal/{system_id}"
        present = {key.rsplit("/", 1)[-1] for key in self.keys(prefix)}
        copied = 0
        if not archive.is_dir():
            return 0
        for path in sorted(archive.iterdir()):
            if path.is_file() and not path.name.startswith(".") and path.name not in present:
                self.put_file(f"{prefix}/{path.name}", path)
                copied += 1
        return copied

    def prune_wal(self, system_id: str, oldest_needed: str) -> int:
        prefix = f"wal/{system_id}"
        old = [
            key
            for key in self.keys(prefix)
            if not key.endswith(".history") and segment_key(key.rsplit("/", 1)[-1]) < segment_key(oldest_needed)
        ]
        if old:
            try:
                obstore.delete(self.store, sorted(old))
            except Exception as exc:
                raise OpsError(f"cannot delete old WAL at {self.url}: {exc}") from None
        return len(old)
