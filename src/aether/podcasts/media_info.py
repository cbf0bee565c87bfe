"""What a stored media object is: its size, content type, duration and file extension, read from the
asset row (`assets.metadata` and `assets.path`)."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

EXTENSIONS = {
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "text/vtt": ".vtt",
    "application/json": ".json",
    "application/json+chapters": ".json",
}
mimetypes.add_type("text/vtt", ".vtt")
mimetypes.add_type("audio/ogg", ".opus")
mimetypes.add_type("audio/mp4", ".m4a")


@dataclass(frozen=True)
class MediaInfo:
    size: int | None
    content_type: str
    duration: float | None
    extension: str
    sha256: str | None


def _first(meta: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = meta.get(key)
        if value not in (None, ""):
            return value
    return None


def describe(meta: Any, path: str | None, *, default_type: str = "application/octet-stream") -> MediaInfo:
    meta = meta if isinstance(meta, dict) else {}
    content_type = _first(meta, "content_type", "mime_type", "mime", "media_type")
    if not isinstance(content_type, str) and path:
        guessed, _ = mimetypes.guess_type(PurePosixPath(path.split("?")[0]).name)
        content_type = guessed
    if not isinstance(content_type, str):
        content_type = default_type
    size = _first(meta, "size", "size_bytes", "bytes", "length", "byte_size")
    duration = _first(meta, "duration_seconds", "duration_s", "duration")
    digest = _first(meta, "sha256", "checksum", "content_hash")
    extension = EXTENSIONS.get(content_type.split(";")[0].strip())
    if extension is None and path:
        extension = PurePosixPath(path.split("?")[0]).suffix
    return MediaInfo(
        size=int(size) if isinstance(size, int | float | str) and str(size).isdigit() else None,
        content_type=content_type,
        duration=float(duration) if isinstance(duration, int | float) else None,
        extension=extension or "",
        sha256=digest if isinstance(digest, str) else None,
    )
