"""Settings: every one is an AETHER_* environment variable, declared in the section of its concern.

Sources, strongest first: keyword arguments, the environment, a `.env` file in the working directory,
`AETHER_HOME/aether.toml`, then the defaults (see `aether.config.base`).

Each module of this package declares one section (`DatabaseSettings`, `TdaSettings`, ...): its fields, their
bounds and their validators. `Settings` inherits every section, so every setting stays a flat attribute
(`settings.tda_fetch_timeout`); `SECTIONS` lists them in reading order, the order `aether config` and the
README's configuration tables follow. A field belongs to exactly one section.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from aether.config.analytics import AnalyticsSettings
from aether.config.base import DEFAULT_HOME, Section, home_from_env, mask_secret, mask_url, variable
from aether.config.database import DatabaseSettings
from aether.config.gateway import GatewaySettings
from aether.config.home import HomeSettings
from aether.config.idempotency import IdempotencySettings
from aether.config.images import ImagesSettings
from aether.config.llm import LlmSettings
from aether.config.mail import MailSettings
from aether.config.music import MusicSettings
from aether.config.operations import OperationsSettings
from aether.config.processes import ProcessesSettings
from aether.config.pswa import PswaSettings
from aether.config.publishing import PublishingSettings
from aether.config.queue import QueueSettings
from aether.config.sca import ScaSettings
from aether.config.security import SecuritySettings
from aether.config.storage import StorageSettings
from aether.config.tda import TdaSettings
from aether.config.video import VideoSettings
from aether.config.voice import VoiceSettings
from aether.errors import ConfigError

__all__ = [
    "DEFAULT_HOME",
    "SECTIONS",
    "AnalyticsSettings",
    "DatabaseSettings",
    "GatewaySettings",
    "HomeSettings",
    "IdempotencySettings",
    "ImagesSettings",
    "LlmSettings",
    "MailSettings",
    "MusicSettings",
    "OperationsSettings",
    "ProcessesSettings",
    "PswaSettings",
    "PublishingSettings",
    "QueueSettings",
    "ScaSettings",
    "Section",
    "SecuritySettings",
    "Settings",
    "StorageSettings",
    "TdaSettings",
    "VideoSettings",
    "VoiceSettings",
    "get_settings",
    "home_from_env",
    "load_settings",
    "mask_secret",
    "mask_url",
    "variable",
]


class Settings(
    # Last section first: pydantic collects fields from the far end of the MRO, so listed this way
    # `Settings.model_fields` (and the order fields are validated in) follows the sections' reading order.
    SecuritySettings,
    OperationsSettings,
    IdempotencySettings,
    QueueSettings,
    VideoSettings,
    ImagesSettings,
    MusicSettings,
    VoiceSettings,
    StorageSettings,
    LlmSettings,
    PswaSettings,
    ScaSettings,
    TdaSettings,
    MailSettings,
    GatewaySettings,
    AnalyticsSettings,
    PublishingSettings,
    ProcessesSettings,
    DatabaseSettings,
    HomeSettings,
):
    """Every AETHER_* setting: all the sections in one object."""

    heading = "Settings"

    def report_by_section(self) -> dict[str, dict[str, Any]]:
        """The effective settings as AETHER_* names under their section's heading, every secret masked."""
        return {
            section.heading: {variable(name): _public(getattr(self, name)) for name in section.model_fields}
            for section in SECTIONS
        }

    def public_report(self) -> dict[str, Any]:
        """The effective settings as AETHER_* names, with every secret masked (section by section)."""
        return {key: value for report in self.report_by_section().values() for key, value in report.items()}


SECTIONS: tuple[type[Section], ...] = tuple(base for base in reversed(Settings.__bases__) if issubclass(base, Section))
"""Every section, in reading order."""


def _public(value: Any) -> Any:
    """A setting's value as reports show it: secrets masked, paths as strings."""
    if isinstance(value, SecretStr):
        raw = value.get_secret_value()
        return mask_url(raw) if "://" in raw else mask_secret(raw)
    if isinstance(value, Path):
        return str(value)
    return value


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning pydantic's errors into one clear ConfigError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = variable("_".join(str(part) for part in first["loc"]) or "settings")
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}", field=name) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
