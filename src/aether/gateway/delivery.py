"""Media delivery: HTTP Range (206, 416), ETag and If-None-Match (304), If-Range, correct Content-Type,
streaming in chunks from the object store."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from aether.errors import RangeNotSatisfiable

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")

RangeReader = Callable[[int, int], AsyncIterator[bytes]]  # (start, end inclusive) -> chunks


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range a `Range` header asks for; None for the whole object (absent, malformed or
    multi-range headers are answered with the whole object, as RFC 9110 allows)."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable()
        return ByteRange(max(0, size - suffix), size - 1) if size else _unsatisfiable()
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable()
    return ByteRange(start, min(end, size - 1))


def _unsatisfiable() -> ByteRange:
    raise RangeNotSatisfiable()


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags or "*" in tags


async def respond(
    request: Request,
    *,
    size: int,
    etag: str,
    content_type: str,
    reader: RangeReader,
    cache_control: str = "public, max-age=86400",
    before_body: Callable[[ByteRange], Awaitable[None]] | None = None,
) -> Response:
    """The response for a GET or HEAD of an object of `size` bytes. `before_body(range)` runs before a
    GET's body is sent (download counting)."""
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": cache_control,
    }
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        range_header = None  # the client's copy is stale: send the whole object
    try:
        wanted = parse_range(range_header, size)
    except RangeNotSatisfiable:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    status = 200
    byte_range = ByteRange(0, size - 1)
    if wanted is not None:
        status = 206
        byte_range = wanted
        headers["Content-Range"] = f"bytes {wanted.start}-{wanted.end}/{size}"
    headers["Content-Length"] = str(byte_range.length if size else 0)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=content_type)
    if before_body is not None:
        await before_body(byte_range)
    if size == 0:
        return Response(status_code=status, headers=headers, media_type=content_type)
    return StreamingResponse(
        reader(byte_range.start, byte_range.end), status_code=status, headers=headers, media_type=content_type
    )
