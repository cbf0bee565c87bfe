"""The config model of the `music` agent: the bed under the speech, its gain, ducking and fades."""

from __future__ import annotations

from pydantic import Field

from aether.agents.config import AgentConfig


class MusicConfig(AgentConfig):
    bed: str | None = Field(None, min_length=1, max_length=500, description="Music bed: object URI or file path.")
    bed_gain_db: float = Field(-18.0, ge=-60, le=0)
    duck_db: float = Field(-12.0, ge=-60, le=0)
    intro_seconds: float = Field(4.0, ge=0, le=60)
    outro_seconds: float = Field(4.0, ge=0, le=60)
    style: str | None = Field(None, min_length=1, max_length=100)
