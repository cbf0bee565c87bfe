"""The settings reference of the README, generated from the sections: one table per section, in SECTIONS order.

Each table is a `### <heading>` line, then `| variable | default | meaning |` rows: every field of the
section, its default as `default_text` writes it and its description. The README holds the tables between
`BEGIN` and `END` (HTML comments, invisible when rendered); tests/test_readme.py checks they are in step.
After changing a setting, rewrite them with

    .venv/bin/python -m aether.config.reference README.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic.fields import FieldInfo

from aether.config import SECTIONS
from aether.config.base import variable
from aether.errors import ConfigError

BEGIN = "<!-- settings tables: generated from aether.config by `python -m aether.config.reference README.md` -->"
END = "<!-- end of the settings tables -->"


def default_text(field: FieldInfo) -> str:
    """A field's default as the tables show it: `unset` for None, `empty` for "", JSON for lists and objects."""
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_tables() -> str:
    """Every section's table, separated by blank lines."""
    tables = []
    for section in SECTIONS:
        rows = [f"### {section.heading}", "", "| variable | default | meaning |", "|---|---|---|"]
        for name, field in section.model_fields.items():
            rows.append(f"| `{variable(name)}` | `{_cell(default_text(field))}` | {_cell(field.description or '')} |")
        tables.append("\n".join(rows))
    return "\n\n".join(tables)


def rewrite(text: str) -> str:
    """`text` (the README) with the part between BEGIN and END replaced by fresh tables."""
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ConfigError(f"the README lacks the lines {BEGIN} and {END} around the settings tables")
    return f"{head}{BEGIN}\n\n{markdown_tables()}\n\n{END}{tail}"


if __name__ == "__main__":
    if len(sys.argv) > 1:
        readme = Path(sys.argv[1])
        readme.write_text(rewrite(readme.read_text()))
    else:
        print(markdown_tables())
