"""The gateway's JSON response for rows: rendered by `aether.db.jsonable.dumps` (orjson), so datetimes,
UUIDs and decimals need no conversion on hot endpoints."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from aether.db.jsonable import dumps


class JSON(Response):
    """A JSON response rendered by `dumps`: rows' datetimes, UUIDs and decimals need no conversion."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
