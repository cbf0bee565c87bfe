from __future__ import annotations

from pathlib import Path

import pytest

from aether.config import SECTIONS, Section, Settings, TdaSettings, load_settings, mask_secret, mask_url
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


def test_every_section_is_in_settings_and_every_setting_in_one_section() -> None:
    assert len(SECTIONS) == len(set(SECTIONS)) and all(issubclass(Settings, section) for section in SECTIONS)
    for section in SECTIONS:
        assert section is not Section and section.heading != Section.heading, section
        missing = [name for name in section.model_fields if name not in Settings.model_fields]
        assert not missing, f"{section.__name__} fields missing from Settings: {missing}"
    # Settings' fields, in order, are exactly the sections' fields in the sections' order.
    assert list(Settings.model_fields) == [name for section in SECTIONS for name in section.model_fields]
    assert len({section.heading for section in SECTIONS}) == len(SECTIONS)


def test_no_two_sections_declare_the_same_field_or_validator() -> None:
    owners: dict[str, list[str]] = {}
    for section in SECTIONS:
        for name in section.model_fields:
            owners.setdefault(name, []).append(section.__name__)
    assert {name: who for name, who in owners.items() if len(who) > 1} == {}
    # a validator of the same name in two sections would silently replace the other in Settings
    validators: dict[str, list[str]] = {}
    for section in SECTIONS:
        for name in section.__pydantic_decorators__.field_validators:
            validators.setdefault(name, []).append(section.__name__)
    assert {name: who for name, who in validators.items() if len(who) > 1} == {}


def test_public_report_follows_the_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = [f"AETHER_{name.upper()}" for section in SECTIONS for name in section.model_fields]
    assert list(load_settings().public_report()) == expected
    monkeypatch.setenv("AETHER_TDA_CONCURRENCY", "3")
    by_section = load_settings(port=9000).report_by_section()
    assert list(by_section) == [section.heading for section in SECTIONS]
    assert by_section[TdaSettings.heading]["AETHER_TDA_CONCURRENCY"] == 3
    assert [key for report in by_section.values() for key in report] == expected


def test_a_section_reads_its_own_variables_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "aether.toml").write_text("tda_max_items_per_feed = 7\nport = 9000\n")
    monkeypatch.setenv("AETHER_HOME", str(tmp_path))
    monkeypatch.setenv("AETHER_TDA_CONCURRENCY", "3")
    tda = TdaSettings()
    assert (tda.tda_concurrency, tda.tda_max_items_per_feed) == (3, 7)
    assert not hasattr(tda, "port")


def test_trusted_proxies_are_addresses_or_networks() -> None:
    settings = load_settings(trusted_proxies="10.0.0.0/8, 192.0.2.7,2001:db8::/32")
    assert [str(n) for n in settings.trusted_proxy_networks] == ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]
    assert load_settings().trusted_proxy_networks == ()
    with pytest.raises(ConfigError, match=r"AETHER_TRUSTED_PROXIES: .*'proxy\.example' is not an IP address") as info:
        load_settings(trusted_proxies="10.0.0.1, proxy.example")
    assert info.value.field == "AETHER_TRUSTED_PROXIES"
