"""The README is for users: it must name every AETHER_* setting and every top-level command."""

from __future__ import annotations

from pathlib import Path

from aether.cli import app
from aether.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [f"AETHER_{name.upper()}" for name in Settings.model_fields if f"`AETHER_{name.upper()}`" not in README]
    assert not missing, f"README lacks {missing}"


def test_every_command_is_documented() -> None:
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    missing = [name for name in names if name and f"`aether {name}" not in README]
    assert not missing, f"README lacks {missing}"
