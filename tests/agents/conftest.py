"""Fixtures of the content-agent tests: the local feed server and an async database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aether.config import Settings
from aether.db.pool import AsyncDatabase


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    """Test settings with no politeness delay and a short time-out (one host serves every feed here)."""
    return settings.model_copy(
        update={"tda_host_interval": 0.0, "tda_fetch_timeout": 2.0, "tda_max_bytes": 2 * 1024 * 1024}
    )


@pytest.fixture
async def adb(settings: Settings) -> AsyncIterator[AsyncDatabase]:
    assert settings.database_url is not None
    database = AsyncDatabase(settings, settings.database_url.get_secret_value())
    await database.open()
    yield database
    await database.close()
