"""Music (the music agent): whether the generated bed and stings are mixed under the speech."""

from __future__ import annotations

from pydantic import Field

from aether.config.base import Section


class MusicSettings(Section):
    heading = "Music"

    music_enabled: bool = Field(True, description="Mix the generated music bed and stings under the speech.")
