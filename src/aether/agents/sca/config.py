"""The config model of the `sca` agent (snippets): how many snippets per topic, how long, which summarizer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aether.agents.config import AgentConfig


class ScaConfig(AgentConfig):
    snippets_per_topic: int = Field(3, ge=1, le=20)
    max_words: int = Field(150, ge=20, le=2000)
    summarizer: Literal["auto", "extractive", "llm"] | None = None
