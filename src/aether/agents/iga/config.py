"""The config model of the `iga` agent (cover art): size, style and engine (drawn or an images API)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aether.agents.config import AgentConfig


class IgaConfig(AgentConfig):
    width: int = Field(1400, ge=256, le=4096)
    height: int = Field(1400, ge=256, le=4096)
    style: str | None = Field(None, min_length=1, max_length=200)
    engine: Literal["procedural", "api"] = "procedural"
