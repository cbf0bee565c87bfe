"""The config model of the `video` agent: frame size, rate, codec and whether a waveform is drawn."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aether.agents.config import AgentConfig


class VideoConfig(AgentConfig):
    width: int = Field(1920, ge=320, le=3840)
    height: int = Field(1080, ge=240, le=2160)
    fps: int = Field(30, ge=1, le=60)
    codec: Literal["h264", "vp9"] = "h264"
    waveform: bool = True
