from __future__ import annotations

from pathlib import Path

import pytest

from aether.config import load_settings, mask_secret, mask_url
from aether.errors import ConfigError


def test_defaults_follow_the_seed_pool_sizes() -> None:
    s = load_settings()
    assert (s.pool_min_size, s.pool_max_size, s.pool_timeout) == (5, 20, 30.0)
    assert s.embedded and s.home == Path(".aether")


def test_environment_and_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "aether.toml").write_text("pool_max_size = 7\nport = 9000\n")
    monkeypatch.setenv("AETHER_HOME", str(tmp_path))
    monkeypatch.setenv("AETHER_PORT", "9100")
    s = load_settings()
    assert s.pool_max_size == 7  # from the TOML file in AETHER_HOME
    assert s.port == 9100  # the environment wins over the file


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("mysql://u@h/db", "must be a postgresql:// URL"),
        ("postgresql://u@h:notaport/db", "invalid port"),
        ("postgresql://u@h:5432", "must name a database"),
    ],
)
def test_malformed_database_url_names_the_variable(url: str, rule: str) -> None:
    with pytest.raises(ConfigError, match=rf"AETHER_DATABASE_URL: .*{rule}") as info:
        load_settings(database_url=url)
    assert info.value.field == "AETHER_DATABASE_URL"


def test_pool_max_below_min_is_refused() -> None:
    with pytest.raises(ConfigError, match="AETHER_POOL_MAX_SIZE: must be at least AETHER_POOL_MIN_SIZE"):
        load_settings(pool_min_size=10, pool_max_size=3)


def test_masking() -> None:
    assert mask_url("postgresql://bob:hunter2@db:5432/x") == "postgresql://bob:****@db:5432/x"
    assert mask_url("postgresql://db/x?password=hunter2&sslmode=require") == (
        "postgresql://db/x?password=****&sslmode=require"
    )
    assert mask_secret("sk-live-1234567890abcd") == "sk-...abcd"
    assert mask_secret("short") == "****"
    report = load_settings(database_url="postgresql://bob:hunter2@db/x").public_report()
    assert "hunter2" not in str(report)
    assert report["AETHER_DATABASE_URL"] == "postgresql://bob:****@db/x"
