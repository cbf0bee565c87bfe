"""Where things live: AETHER_HOME, the directory of the embedded database, objects, keys and backups."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from aether.config.base import DEFAULT_HOME, Section


class HomeSettings(Section):
    heading = "Where things live"

    home: Path = Field(DEFAULT_HOME, description="Directory for the embedded database, objects, keys, backups.")

    @property
    def pgdata(self) -> Path:
        """The embedded server's data directory."""
        return self.home.resolve() / "pgdata"
