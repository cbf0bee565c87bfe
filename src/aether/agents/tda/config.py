"""The config model of the `tda` agent (topic discovery): feeds, how many topics, keywords, languages."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, HttpUrl

from aether.agents.config import LANGUAGE_PATTERN, AgentConfig, Tag


class TdaConfig(AgentConfig):
    feeds: list[HttpUrl] = Field(default_factory=list, max_length=500)
    max_topics: int = Field(10, ge=1, le=100)
    keywords: list[Tag] = Field(default_factory=list, max_length=100)
    languages: list[Annotated[str, Field(pattern=LANGUAGE_PATTERN)]] = Field(default_factory=list, max_length=20)
    fetch_articles: bool | None = None
