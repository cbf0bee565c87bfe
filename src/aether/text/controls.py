"""Characters no text Aether accepts may hold: C0 control characters other than tab, line feed and
carriage return (U+0000 NUL first among them: PostgreSQL cannot store it in text) and lone UTF-16
surrogates (U+D800-U+DFFF: they cannot be encoded as UTF-8).

Every way in checks with these: the gateway (path, query, JSON and form bodies), the CLI's arguments and
JSON options, and task payloads at enqueue. `check_value` walks a decoded JSON value and raises
ValidationFailed naming the first offending field as a path (`hosts[0].name`, keys included).
"""

from __future__ import annotations

import re
from typing import Any

from aether.errors import ValidationFailed

INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
RULE = "must not contain control characters (such as U+0000) or lone surrogates"


def first_invalid(text: str) -> str | None:
    """The first character of `text` that is not allowed, or None."""
    found = INVALID.search(text)
    return found.group() if found else None


def describe(char: str) -> str:
    return f"U+{ord(char):04X}"


def check_text(text: str, field: str) -> str:
    """`text` unchanged; ValidationFailed naming `field` when it holds a character that is not allowed."""
    bad = first_invalid(text)
    if bad is not None:
        raise ValidationFailed(f"{field}: {RULE} (found {describe(bad)})", field=field)
    return text


def find_in_value(value: Any, path: str = "") -> str | None:
    """The path of the first string (or object key) in a JSON-like `value` that holds a character that is
    not allowed; None when there is none. The root itself is named `path` (or "value" when empty)."""
    if isinstance(value, str):
        return (path or "value") if first_invalid(value) is not None else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            child = f"{path}.{name}" if path else name
            if first_invalid(name) is not None:
                return child
            found = find_in_value(item, child)
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = find_in_value(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def check_value(value: Any, field: str = "") -> Any:
    """`value` unchanged; ValidationFailed naming the first offending field (prefixed with `field`)."""
    found = find_in_value(value, field)
    if found is not None:
        raise ValidationFailed(f"{found}: {RULE}", field=found)
    return value
