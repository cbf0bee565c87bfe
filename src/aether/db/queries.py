"""Named queries: SQL in `.sql` files next to the code that runs them.

A file holds blocks headed `-- name: some_name`; `load_queries(__file__, "queries.sql")` returns a
namespace of `Query` objects. A `Query` is a `str` carrying its name, so the timing cursor of
`aether.db.pool` records every execution under that name (and psycopg prepares it after a few runs).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

_HEADER = re.compile(r"^--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$", re.MULTILINE)


class Query(str):
    """SQL text with a name for metrics and logs."""

    name: str

    def __new__(cls, sql: str, name: str) -> Query:
        obj = super().__new__(cls, sql)
        obj.name = name
        return obj


def parse_queries(text: str, source: str = "<sql>") -> dict[str, Query]:
    found: dict[str, Query] = {}
    matches = list(_HEADER.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = text[match.end() : end].strip()
        name = match.group(1)
        if name in found:
            raise ValueError(f"{source}: query {name!r} is defined twice")
        if not body:
            raise ValueError(f"{source}: query {name!r} has no SQL")
        found[name] = Query(body.rstrip().rstrip(";"), name)
    return found


def load_queries(module_file: str, filename: str = "queries.sql") -> SimpleNamespace:
    path = Path(module_file).with_name(filename)
    return SimpleNamespace(**parse_queries(path.read_text(encoding="utf-8"), str(path)))


def query_name(sql: object) -> str:
    """The name of a Query, or a short label for ad-hoc SQL (first words)."""
    name = getattr(sql, "name", None)
    if isinstance(name, str):
        return name
    text = sql.decode() if isinstance(sql, bytes) else str(sql)
    words = text.split()
    return "adhoc:" + " ".join(words[:3]).lower()[:40]
