"""Fixtures of the security tests: a fixed master key, and settings with a fresh one."""

from __future__ import annotations

import base64
import os

import pytest

from aether.config import Settings

MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def keyed_settings(settings: Settings) -> Settings:
    """The test's settings with AETHER_MASTER_KEY set (a different key per test)."""
    return settings.model_copy(update={"master_key": _secret(base64.b64encode(os.urandom(32)).decode())})


def _secret(value: str) -> object:
    from pydantic import SecretStr

    return SecretStr(value)
