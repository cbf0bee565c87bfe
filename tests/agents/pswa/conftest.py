"""Fixtures of the PSWA tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from aether.config import Settings, load_settings


@pytest.fixture
def plain_settings(aether_home: Path) -> Settings:
    """Settings with their defaults (hosts Alex and Sam, 150 words a minute), for tests with no database."""
    return load_settings(home=aether_home)
