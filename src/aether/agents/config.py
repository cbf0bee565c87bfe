"""The base of every agent type's config model: the JSONB `config` of a row of the `agents` table.

Each agent package declares its type's model in a leaf module of its own (`aether.agents.tda.config`, ...)
on `AgentConfig`: unknown keys are refused (a typo never goes unnoticed) and strings are stripped. Every
setting has a default. `aether.agents.registry` composes the types.

The orchestrator's model lives here too: the orchestrator is no package of `aether.agents` (it sits in a
layer below, where this base cannot be imported).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# what an agent's config model may need from below, in the one module those models import
from aether.errors import pattern_rule as pattern_rule
from aether.text import LANGUAGE_PATTERN as LANGUAGE_PATTERN


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Tag = Annotated[str, Field(min_length=1, max_length=100)]
"""A keyword or tag: one to a hundred characters."""


class OrchestratorConfig(AgentConfig):
    max_concurrent_workflows: int = Field(4, ge=1, le=1000)
    default_workflow: str = Field("podcast", min_length=1, max_length=100)
    step_timeout_s: float | None = Field(None, gt=0, le=86400)
