"""The README is for users: it must name every AETHER_* setting and every top-level command, and its
configuration tables (one per settings section) must be the ones the sections generate."""

from __future__ import annotations

import re
from pathlib import Path

from aether.cli import app
from aether.config import SECTIONS, Settings
from aether.config.reference import BEGIN, END, default_text, markdown_tables

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
REGENERATE = "regenerate them: .venv/bin/python -m aether.config.reference README.md"


def _configuration_tables() -> dict[str, dict[str, tuple[str, str]]]:
    """The tables of the README's Configuration section: heading -> variable -> (default, meaning)."""
    section = README.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    tables: dict[str, dict[str, tuple[str, str]]] = {}
    rows: dict[str, tuple[str, str]] | None = None
    for line in section.splitlines():
        if line.startswith("### "):
            rows = tables.setdefault(line.removeprefix("### ").strip(), {})
        elif line.startswith("| `"):
            assert rows is not None, f"a table row before any section heading: {line}"
            cells = [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
            variable, default, meaning = cells[0].strip("`"), cells[1].removeprefix("`").removesuffix("`"), cells[2]
            assert variable not in rows, f"{variable} is listed twice"
            rows[variable] = (default, meaning)
    return tables


def test_every_setting_is_documented() -> None:
    missing = [f"AETHER_{name.upper()}" for name in Settings.model_fields if f"`AETHER_{name.upper()}`" not in README]
    assert not missing, f"README lacks {missing}"


def test_one_table_per_section_with_every_setting_and_its_default() -> None:
    tables = _configuration_tables()
    assert list(tables) == [section.heading for section in SECTIONS], REGENERATE
    for section in SECTIONS:
        rows = tables[section.heading]
        for name, field in section.model_fields.items():
            variable = f"AETHER_{name.upper()}"
            assert variable in rows, f"the {section.heading!r} table lacks {variable}; {REGENERATE}"
            assert rows[variable][0] == default_text(field), f"{variable}'s default; {REGENERATE}"


def test_no_table_lists_a_variable_that_does_not_exist() -> None:
    settings = {f"AETHER_{name.upper()}" for name in Settings.model_fields}
    for heading, rows in _configuration_tables().items():
        unknown = sorted(set(rows) - settings)
        assert not unknown, f"the {heading!r} table lists {unknown}, which are no settings; {REGENERATE}"
    by_heading = {section.heading: {f"AETHER_{name.upper()}" for name in section.model_fields} for section in SECTIONS}
    for heading, rows in _configuration_tables().items():
        assert set(rows) <= by_heading.get(heading, set()), f"the {heading!r} table lists another section's settings"


def test_the_tables_are_generated_from_the_sections() -> None:
    assert README.count(BEGIN) == 1 and README.count(END) == 1
    generated = README.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert generated == markdown_tables(), f"the meanings or order differ from the sections'; {REGENERATE}"


def test_every_command_is_documented() -> None:
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    missing = [name for name in names if name and f"`aether {name}" not in README]
    assert not missing, f"README lacks {missing}"


def test_the_architecture_page_names_every_settings_section() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "architecture.md").read_text()
    for section in SECTIONS:
        assert f"| {section.heading} | `{section.__module__}` (`{section.__name__}`) |" in page, section.heading
    assert "docs/architecture.md" in README
