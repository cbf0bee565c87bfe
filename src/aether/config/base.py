"""The shared base of every settings section: where AETHER_* values come from, and helpers for validators.

A section is a pydantic-settings model holding the AETHER_* settings of one concern; `aether.config.Settings`
inherits every section, so each field stays a flat attribute of it. Sources, strongest first: keyword
arguments, the environment, a `.env` file in the working directory, `AETHER_HOME/aether.toml`, then the
defaults. Unknown keys are ignored (each section sees the others' variables) and defaults are validated.

`heading` names a section in `aether config` and in the README's configuration tables.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_HOME = Path("./.aether")


def home_from_env() -> Path:
    """AETHER_HOME as the environment gives it (the TOML file lives there, so it is read first)."""
    return Path(os.environ.get("AETHER_HOME", str(DEFAULT_HOME)))


def variable(field: str) -> str:
    """The environment variable of a settings field: `tda_fetch_timeout` -> `AETHER_TDA_FETCH_TIMEOUT`."""
    return f"AETHER_{field.upper()}"


class Section(BaseSettings):
    """The AETHER_* settings of one concern (subclasses declare the fields and their validators)."""

    model_config = SettingsConfigDict(
        env_prefix="AETHER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    heading: ClassVar[str] = "Settings"

    @classmethod
    def variables(cls) -> tuple[str, ...]:
        """The AETHER_* names of the section's settings, in the order declared."""
        return tuple(variable(name) for name in cls.model_fields)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=home_from_env() / "aether.toml")
        return (init_settings, env_settings, dotenv_settings, toml, file_secret_settings)


def check_scheme(value: str | None, allowed: tuple[str, ...]) -> str | None:
    """None when unset or blank; else the value stripped, refused unless its URL scheme is one of `allowed`."""
    if value is None or not value.strip():
        return None
    if urlsplit(value.strip()).scheme not in allowed:
        raise ValueError(f"must be a URL with scheme {', '.join(s + '://' for s in allowed)} (got {value!r})")
    return value.strip()


def mask_secret(value: str) -> str:
    """`sk-live-123456abcd` -> `sk-...abcd`; short values are masked whole."""
    if len(value) < 12:
        return "****"
    return f"{value[:3]}...{value[-4:]}"


def mask_url(url: str) -> str:
    """Replace the password of a URL (and any password= query item) with ****."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:****@{hostport}"
    query = "&".join(
        "password=****" if item.lower().startswith("password=") else item for item in parts.query.split("&")
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query if parts.query else "", parts.fragment))
