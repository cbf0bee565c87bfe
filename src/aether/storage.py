"""Object storage: one interface over `obstore` for a local directory (default `AETHER_HOME/objects`),
`gs://` and `s3://` buckets (`AETHER_STORAGE_URL`).

Keys are content-addressed (`ab/abcdef….mp3`, the sha256 of the bytes): the same bytes are stored once,
and a second write of them is a no-op. Every write is atomic (obstore writes a local file under a
temporary name and renames it; cloud stores publish an object only when its upload completes), so no
reader ever sees half an object. Every stored object gets one `assets` row (`record_asset`), unique per
(sha256, type), carrying its metadata: bytes, sha256, MIME type, duration, dimensions and provenance.

An agent's render step (cover, music, voice, video) is `render_once`: the assets already rendered for its
render key, or else a render off the event loop whose rows are recorded (and linked) in one transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import obstore
from obstore.store import LocalStore, from_url
from psycopg.types.json import Jsonb

from aether.config import Settings
from aether.db import AsyncConnection, Connection, Database, load_queries
from aether.errors import NotFound, ValidationFailed

Q = load_queries(__file__, "storage.sql")

ASSET_TYPES = ("audio", "image", "video", "script", "transcript", "chapters")
_READ_CHUNK = 1024 * 1024
# Metadata keys copied from the caller (provenance and media facts); anything else is refused.
METADATA_KEYS = frozenset(
    {
        "duration_s",
        "width",
        "height",
        "sample_rate",
        "channels",
        "bitrate_kbps",
        "workflow_id",
        "agent",
        "provider",
        "model",
        "voice",
        "voices",
        "source_urls",
        "role",
        "title",
        "loudness_lufs",
        "lines_total",
        "lines_synthesized",
        "true_peak_dbtp",
        "fps",
        "codecs",
        "seed",
        "topic_id",
        "render_key",
        "clip_start_s",
        "clip_end_s",
    }
)

mimetypes.add_type("text/vtt", ".vtt")
mimetypes.add_type("audio/ogg", ".opus")


@dataclass(frozen=True)
class StoredObject:
    uri: str
    key: str
    sha256: str
    size: int
    mime_type: str
    created: bool  # False when the same bytes were already stored


@dataclass(frozen=True)
class Asset:
    id: int
    name: str
    type: str
    uri: str
    metadata: dict[str, Any]
    created: bool  # False when the row already existed

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": self.type, "uri": self.uri}


def default_url(settings: Settings) -> str:
    if settings.storage_url:
        return settings.storage_url.rstrip("/")
    return (settings.home.resolve() / "objects").as_uri()


@lru_cache(maxsize=16)
def _store_for(url: str) -> Any:
    if url.startswith("file://"):
        root = Path(unquote(urlsplit(url).path))
        root.mkdir(parents=True, exist_ok=True)
        return LocalStore(root)
    return from_url(url)


class ObjectStore:
    """Content-addressed objects under one base URL."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.store = _store_for(self.url)

    @classmethod
    def from_settings(cls, settings: Settings) -> ObjectStore:
        return cls(default_url(settings))

    # ---- naming -------------------------------------------------------------------------------
    @staticmethod
    def key_for(sha256: str, suffix: str) -> str:
        if suffix and not suffix.startswith("."):
            suffix = "." + suffix
        return f"{sha256[:2]}/{sha256}{suffix.lower()}"

    def uri_for(self, key: str) -> str:
        return f"{self.url}/{key}"

    def locate(self, uri: str) -> tuple[Any, str]:
        """(obstore store, key) of `uri`: under this store's base, or any file://, gs:// or s3:// URI."""
        if uri.startswith(self.url + "/"):
            return self.store, uri[len(self.url) + 1 :]
        parts = urlsplit(uri)
        if parts.scheme == "file":
            path = Path(unquote(parts.path))
            return _store_for(path.parent.as_uri()), path.name
        if parts.scheme in ("gs", "s3", "memory") and parts.path.strip("/"):
            return _store_for(f"{parts.scheme}://{parts.netloc}"), parts.path.strip("/")
        if not parts.scheme and Path(uri).is_absolute():
            return _store_for(Path(uri).parent.as_uri()), Path(uri).name
        raise ValidationFailed(f"not an object URI this store can read: {uri!r}", field="uri")

    # ---- writing ------------------------------------------------------------------------------
    def exists(self, key: str) -> bool:
        try:
            obstore.head(self.store, key)
        except FileNotFoundError:
            return False
        return True

    def put_bytes(self, data: bytes, *, suffix: str, mime_type: str | None = None) -> StoredObject:
        sha = hashlib.sha256(data).hexdigest()
        key = self.key_for(sha, suffix)
        created = not self.exists(key)
        if created:
            obstore.put(self.store, key, data, use_multipart=False)
        return StoredObject(self.uri_for(key), key, sha, len(data), mime_type or guess_mime(key), created)

    def put_file(self, path: Path, *, suffix: str | None = None, mime_type: str | None = None) -> StoredObject:
        """Store a file without reading it whole into memory."""
        sha = file_sha256(path)
        key = self.key_for(sha, suffix if suffix is not None else path.suffix)
        size = path.stat().st_size
        created = not self.exists(key)
        if created:
            obstore.put(self.store, key, path)
        return StoredObject(self.uri_for(key), key, sha, size, mime_type or guess_mime(key), created)

    def put_named(self, key: str, data: bytes) -> str:
        """Store `data` under a key of the caller's choosing (a cache keyed by what made it); its URI."""
        obstore.put(self.store, key, data, use_multipart=False)
        return self.uri_for(key)

    # ---- reading ------------------------------------------------------------------------------
    def get_named(self, key: str) -> bytes | None:
        """The object stored under `key` by put_named, None when there is none."""
        try:
            return bytes(obstore.get(self.store, key).bytes())
        except FileNotFoundError:
            return None

    def get_bytes(self, uri: str) -> bytes:
        store, key = self.locate(uri)
        try:
            return bytes(obstore.get(store, key).bytes())
        except FileNotFoundError:
            raise NotFound(f"no stored object at {uri}", field="uri") from None

    def download(self, uri: str, dest: Path) -> Path:
        """Copy an object to a local file, chunk by chunk (atomic: written beside and renamed)."""
        store, key = self.locate(uri)
        partial = dest.with_name(dest.name + ".part")
        try:
            result = obstore.get(store, key)
        except FileNotFoundError:
            raise NotFound(f"no stored object at {uri}", field="uri") from None
        with partial.open("wb") as out:
            for chunk in result.stream(min_chunk_size=_READ_CHUNK):
                out.write(bytes(chunk))
        partial.replace(dest)
        return dest

    def delete(self, uri: str) -> bool:
        """Delete the object at `uri`; False when there was none."""
        store, key = self.locate(uri)
        try:
            obstore.head(store, key)
        except FileNotFoundError:
            return False
        obstore.delete(store, key)
        return True

    def size(self, uri: str) -> int:
        store, key = self.locate(uri)
        try:
            return int(obstore.head(store, key)["size"])
        except FileNotFoundError:
            raise NotFound(f"no stored object at {uri}", field="uri") from None


async def delete_objects(uris: Collection[str], settings: Settings) -> int:
    """Delete these objects (off the event loop; call it after the transaction that deleted their asset
    rows commits); returns how many existed."""
    store = ObjectStore.from_settings(settings)

    def run() -> int:
        return sum(store.delete(uri) for uri in uris)

    return await asyncio.to_thread(run) if uris else 0


def guess_mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# ---- async readers (the gateway streams remote objects through these) ---------------------------
async def size(uri: str, settings: Settings) -> int:
    store, key = ObjectStore.from_settings(settings).locate(uri)
    try:
        meta = await obstore.head_async(store, key)
    except FileNotFoundError:
        raise NotFound(f"no stored object at {uri}", field="uri") from None
    return int(meta["size"])


async def get_range(uri: str, start: int, end: int, settings: Settings) -> bytes:
    """Bytes [start, end) of an object."""
    store, key = ObjectStore.from_settings(settings).locate(uri)
    try:
        return bytes(await obstore.get_range_async(store, key, start=start, end=end))
    except FileNotFoundError:
        raise NotFound(f"no stored object at {uri}", field="uri") from None


# ---- assets rows --------------------------------------------------------------------------------
def asset_metadata(obj: StoredObject, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The row's metadata: facts of the object, then the caller's media facts and provenance."""
    meta: dict[str, Any] = {"bytes": obj.size, "sha256": obj.sha256, "mime_type": obj.mime_type}
    for key, value in (extra or {}).items():
        if key not in METADATA_KEYS:
            raise ValidationFailed(
                f"unknown asset metadata key {key!r} (known: {', '.join(sorted(METADATA_KEYS))})", field="metadata"
            )
        if value is not None:
            meta[key] = value
    return meta


def _asset_params(name: str, asset_type: str, obj: StoredObject, meta: dict[str, Any]) -> dict[str, Any]:
    if asset_type not in ASSET_TYPES:
        raise ValidationFailed(f"asset type must be one of {', '.join(ASSET_TYPES)} (got {asset_type!r})", field="type")
    if not name.strip() or len(name) > 255:
        raise ValidationFailed("asset name must be 1 to 255 characters", field="name")
    if len(obj.uri) > 500:
        raise ValidationFailed("object URI is longer than 500 characters", field="path")
    return {
        "name": name,
        "type": asset_type,
        "path": obj.uri,
        "metadata": Jsonb(meta),
        "sha256": obj.sha256,
        "byte_size": obj.size,
        "mime_type": obj.mime_type,
        "render_key": meta.get("render_key"),
        "workflow_id": meta.get("workflow_id"),
    }


def _asset(row: Mapping[str, Any], created: bool) -> Asset:
    return Asset(row["id"], row["name"], row["type"], row["path"], dict(row["metadata"] or {}), created)


async def record_asset(
    conn: AsyncConnection, name: str, asset_type: str, obj: StoredObject, metadata: Mapping[str, Any] | None = None
) -> Asset:
    """Insert the object's assets row, or return the row that already holds the same bytes and type."""
    params = _asset_params(name, asset_type, obj, asset_metadata(obj, metadata))
    row = await (await conn.execute(Q.insert_asset, params)).fetchone()
    if row is not None:
        return _asset(row, True)
    existing = await (await conn.execute(Q.asset_by_sha256, params)).fetchone()
    assert existing is not None, "the conflicting asset row vanished"
    return _asset(existing, False)


async def assets_for_render(conn: AsyncConnection, render_key: str) -> list[Asset]:
    cur = await conn.execute(Q.assets_by_render_key, {"render_key": render_key})
    return [_asset(row, False) for row in await cur.fetchall()]


def get_asset(conn: Connection, asset_id: int) -> Asset:
    row = conn.execute(Q.asset_by_id, {"id": asset_id}).fetchone()
    if row is None:
        raise NotFound(f"no asset {asset_id}", field="asset_id")
    return _asset(row, False)


# ---- stored in a worker process, recorded by the handler ----------------------------------------
@dataclass(frozen=True)
class PendingAsset:
    """An object already stored whose assets row is still to be written (picklable: it crosses from the
    CPU pool back to the handler, which records every row of one step in one transaction)."""

    role: str
    name: str
    type: str
    obj: StoredObject
    metadata: dict[str, Any]


def _with_workflow(item: PendingAsset, workflow_id: str | None) -> dict[str, Any]:
    meta = {"role": item.role, **item.metadata}
    if workflow_id:
        meta["workflow_id"] = workflow_id
    return meta


async def record_all(
    conn: AsyncConnection, items: list[PendingAsset], workflow_id: str | None = None
) -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    for item in items:
        found[item.role] = await record_asset(conn, item.name, item.type, item.obj, _with_workflow(item, workflow_id))
    return found


def by_role(assets: list[Asset]) -> dict[str, Asset]:
    return {str(a.metadata.get("role")): a for a in assets if a.metadata.get("role")}


# ---- render once --------------------------------------------------------------------------------
Render = Callable[[], list[PendingAsset]]
RunCpu = Callable[[Render], Awaitable[list[PendingAsset]]]
AfterRecord = Callable[[AsyncConnection, dict[str, Asset]], Awaitable[None]]


async def render_once(
    db: Database,
    render_key: str | None,
    roles: Collection[str],
    render: Render,
    *,
    run_cpu: RunCpu,
    workflow_id: str | None,
    after_record: AfterRecord | None = None,
) -> tuple[dict[str, Asset], bool]:
    """One render step of an agent: (its assets by role, whether they were there already).

    When the assets recorded under `render_key` hold every one of `roles`, they are the answer (cached)
    and nothing is rendered; with no render key nothing is looked up. Otherwise `render` stores the
    objects (CPU-bound: it goes through `run_cpu`, off the event loop, so for a process pool it must
    pickle, e.g. a `functools.partial` of a module-level function), and one transaction records their rows
    and runs `after_record(conn, assets)` (what links them to the rest)."""
    if render_key is not None:
        async with db.connection() as conn:
            existing = by_role(await assets_for_render(conn, render_key))
        if all(role in existing for role in roles):
            return existing, True
    pending = await run_cpu(render)
    async with db.transaction() as conn:
        recorded = await record_all(conn, pending, workflow_id)
        if after_record is not None:
            await after_record(conn, recorded)
    return recorded, False
