"""Fixtures of the content-agent tests: settings for the local feed server."""

from __future__ import annotations

import pytest

from aether.config import Settings


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    """Test settings with no politeness delay and a short time-out (one host serves every feed here)."""
    return settings.model_copy(
        update={"tda_host_interval": 0.0, "tda_fetch_timeout": 2.0, "tda_max_bytes": 2 * 1024 * 1024}
    )
