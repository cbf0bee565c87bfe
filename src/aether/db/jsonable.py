"""Rows to JSON: naive UTC timestamps become ISO 8601 with `Z`, UUIDs and decimals plain values.

`value`/`row` convert in Python (for templates and the standard json module); `dumps` writes the same JSON
straight from rows with orjson, several times faster (the gateway's `JSON` response uses it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def value(v: Any) -> Any:
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=UTC)
        return v.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, Mapping):
        return {str(k): value(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [value(x) for x in v]
    return v


def row(r: Mapping[str, Any], keys: Iterable[str] | None = None) -> dict[str, Any]:
    wanted = r.keys() if keys is None else keys
    return {k: value(r[k]) for k in wanted}


def _default(v: Any) -> Any:
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, tuple | set | frozenset):
        return list(v)
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def dumps(obj: Any) -> bytes:
    """`obj` as JSON bytes, with the conversions of `value` (connections run in UTC)."""
    return orjson.dumps(obj, default=_default, option=_OPTIONS)
