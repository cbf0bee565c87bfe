from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aether.config import Settings
from aether.db.pool import AsyncDatabase


@pytest.fixture
async def adb(settings: Settings) -> AsyncIterator[AsyncDatabase]:
    assert settings.database_url is not None
    async with AsyncDatabase(settings, settings.database_url.get_secret_value()) as database:
        yield database
