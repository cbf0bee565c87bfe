"""The LLM: an OpenAI-compatible chat-completions API for snippets and scripts (unset = offline writers).

AETHER_LLM_BASE_URL must be an http(s) URL; it is kept without a trailing slash.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from aether.config.base import Section


class LlmSettings(Section):
    heading = "LLM"

    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible API base URL, e.g. http://127.0.0.1:11434/v1; unset = offline writers."
    )
    llm_model: str = Field("gpt-4o-mini", min_length=1, description="Model name sent to the chat-completions API.")
    llm_api_key: SecretStr | None = Field(None, description="Bearer token for the LLM API (never logged).")
    llm_timeout: float = Field(120.0, gt=0, le=3600, description="Seconds one chat-completions request may take.")
    llm_max_retries: int = Field(3, ge=0, le=10, description="Retries (with exponential back-off) on 429/5xx/network.")
    llm_json_mode: Literal["json_schema", "json_object", "none"] = Field(
        "json_schema", description="How structured output is requested: response_format json_schema, json_object, none."
    )
    llm_temperature: float = Field(0.3, ge=0, le=2, description="Sampling temperature for script and snippet writing.")

    @field_validator("llm_base_url")
    @classmethod
    def _check_llm_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:11434/v1")
        return value.strip().rstrip("/")
