"""Snippets (the sca agent): how topics are summarised."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aether.config.base import Section


class ScaSettings(Section):
    heading = "Snippets (SCA)"

    sca_summarizer: Literal["auto", "extractive", "llm"] = Field(
        "auto", description="Snippet summaries: extractive (LexRank), llm, or auto (llm when AETHER_LLM_BASE_URL set)."
    )
