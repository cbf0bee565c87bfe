"""Helpers of the operations tests."""

from __future__ import annotations

from pathlib import Path

from aether.ops.pgtools import give_to_server


def reopen(home: Path) -> None:
    """Let the server's user reach AETHER_HOME again: a pytest session starting meanwhile (other test runs
    share this machine) resets /tmp/pytest-of-<user> to mode 0700."""
    give_to_server(home / "pgdata", recursive=False)
