"""Reading stored objects for delivery: local files directly (`file://` URIs, absolute paths, or paths
relative to AETHER_HOME/objects), remote stores through `aether.storage`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from aether import storage
from aether.config import Settings
from aether.errors import NotFound

CHUNK = 256 * 1024


def local_path(uri: str, settings: Settings) -> Path | None:
    """The local file of `uri`, or None when it lives in a remote store."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:
        return None
    path = Path(uri)
    return path if path.is_absolute() else settings.home.resolve() / "objects" / path


async def size_of(uri: str, settings: Settings) -> int:
    path = local_path(uri, settings)
    if path is not None:
        try:
            return (await asyncio.to_thread(os.stat, path)).st_size
        except OSError:
            raise NotFound("the stored object is missing", field="media") from None
    return int(await storage.size(uri, settings))


def reader(uri: str, settings: Settings) -> Any:
    """A RangeReader for `uri`: (start, end inclusive) -> async iterator of chunks."""
    path = local_path(uri, settings)

    async def read_local(start: int, end: int) -> AsyncIterator[bytes]:
        assert path is not None
        handle = await asyncio.to_thread(open, path, "rb")
        try:
            await asyncio.to_thread(handle.seek, start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = await asyncio.to_thread(handle.read, min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def read_remote(start: int, end: int) -> AsyncIterator[bytes]:
        data = await storage.get_range(uri, start, end + 1, settings)
        for offset in range(0, len(data), CHUNK):
            yield bytes(data[offset : offset + CHUNK])

    return read_local if path is not None else read_remote


async def read_all(uri: str, settings: Settings, limit: int = 20 * 1024 * 1024) -> bytes:
    size = await size_of(uri, settings)
    if size > limit:
        raise NotFound("the stored object is too large to read whole", field="media")
    out = bytearray()
    async for chunk in reader(uri, settings)(0, max(0, size - 1)):
        out += chunk
    return bytes(out)
