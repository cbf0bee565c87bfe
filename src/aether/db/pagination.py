"""Keyset pagination: an opaque cursor holds the sort key of the last item of a page."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from aether.errors import ValidationFailed


def encode_cursor(key: Sequence[Any]) -> str:
    raw = json.dumps([str(k) if not isinstance(k, int | float | str) else k for k in key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, names: Sequence[str]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("cursor is not a cursor this API returned", field="cursor") from None
    if not isinstance(values, list) or len(values) != len(names):
        raise ValidationFailed("cursor is not a cursor this API returned", field="cursor")
    return values
