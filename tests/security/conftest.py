"""Fixtures of the security tests: an async pool on the test's database, and a fixed master key."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator

import pytest

from aether.config import Settings
from aether.db.pool import AsyncDatabase

MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
async def adb(settings: Settings) -> AsyncIterator[AsyncDatabase]:
    assert settings.database_url is not None
    database = AsyncDatabase(settings, settings.database_url.get_secret_value())
    await database.open()
    yield database
    await database.close()


@pytest.fixture
def keyed_settings(settings: Settings) -> Settings:
    """The test's settings with AETHER_MASTER_KEY set (a different key per test)."""
    return settings.model_copy(update={"master_key": _secret(base64.b64encode(os.urandom(32)).decode())})


def _secret(value: str) -> object:
    from pydantic import SecretStr

    return SecretStr(value)
