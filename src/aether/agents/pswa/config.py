"""The config model of the `pswa` agent (script writing): length, speaking rate, language, hosts, writer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aether.agents.config import AgentConfig


class Host(AgentConfig):
    name: str = Field(min_length=1, max_length=50)
    persona: str = Field("", max_length=500)


class PswaConfig(AgentConfig):
    target_minutes: float = Field(10.0, ge=1, le=180)
    words_per_minute: int | None = Field(None, ge=60, le=300)
    language: str | None = Field(None, min_length=2, max_length=16)
    hosts: list[Host] | None = Field(None, min_length=1, max_length=4)
    writer: Literal["auto", "offline", "llm"] | None = None
    llm_model: str | None = Field(None, min_length=1, max_length=200)
