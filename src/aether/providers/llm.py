"""A client for any OpenAI-compatible chat-completions API (Ollama, vLLM, llama.cpp server, hosted APIs).

* `POST {base_url}/chat/completions` with `model`, `messages`, `temperature` and, for structured output,
  `response_format` (`json_schema` with the schema, or `json_object`, per AETHER_LLM_JSON_MODE).
* Time-out per request; 429, 5xx, time-outs and connection errors are retried with exponential back-off
  (honouring `Retry-After` up to 30 s); other 4xx fail at once with the server's message (the policy of
  `aether.providers.retry`, shared with the speech API).
* `chat_json` parses and validates the reply; on invalid output it asks once more, quoting the error
  (the repair retry), then gives up with LLMInvalidOutput.
* Token usage of every call is summed and returned. The API key is sent as a bearer token and never
  appears in errors or logs.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
from pydantic import SecretStr

from aether.config import Settings
from aether.errors import ConfigError, LLMError, LLMInvalidOutput
from aether.providers.retry import RetryPolicy, asend

log = logging.getLogger(__name__)
T = TypeVar("T")

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    calls: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
            self.calls + other.calls,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "calls": self.calls,
        }

    @classmethod
    def from_api(cls, usage: object) -> TokenUsage:
        data = usage if isinstance(usage, dict) else {}

        def number(key: str) -> int:
            value = data.get(key)
            return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0

        prompt, completion = number("prompt_tokens"), number("completion_tokens")
        return cls(prompt, completion, number("total_tokens") or prompt + completion, 1)


@dataclass(frozen=True)
class ChatResult:
    content: str
    usage: TokenUsage
    model: str
    finish_reason: str | None


@dataclass(frozen=True)
class JsonResult(Generic[T]):
    value: T
    usage: TokenUsage
    model: str
    repaired: bool


Message = dict[str, str]


class LLMClient:
    """Use as `async with LLMClient.from_settings(settings) as llm:`."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: SecretStr | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        json_mode: str = "json_schema",
        temperature: float = 0.3,
        backoff_base: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_retries = max_retries
        self.json_mode = json_mode
        self.temperature = temperature
        self.backoff_base = backoff_base
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key is not None and api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {api_key.get_secret_value()}"
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(timeout), headers=headers, trust_env=False)
        self.timeout = timeout
        self.retry = RetryPolicy(
            f"LLM API at {self.base_url}", LLMError, timeout, max_retries=max_retries, backoff_base=backoff_base
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMClient:
        if not settings.llm_base_url:
            raise ConfigError("AETHER_LLM_BASE_URL is not set: no LLM is configured", field="AETHER_LLM_BASE_URL")
        return cls(
            settings.llm_base_url,
            settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            json_mode=settings.llm_json_mode,
            temperature=settings.llm_temperature,
        )

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    # ---- plain chat ---------------------------------------------------------------------------------

    async def chat(
        self,
        messages: list[Message],
        *,
        response_format: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature}
        if response_format is not None:
            body["response_format"] = response_format
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        url = f"{self.base_url}/chat/completions"
        return self._result(await asend(self.retry, lambda: self.client.post(url, json=body)))

    def _result(self, response: httpx.Response) -> ChatResult:
        try:
            data = response.json()
            choice = data["choices"][0]
            content = choice["message"].get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise LLMError(f"LLM API at {self.base_url} sent a reply that is not a chat completion ({exc})") from None
        if not isinstance(content, str):
            raise LLMError(f"LLM API at {self.base_url} sent a chat completion without text content")
        return ChatResult(
            content=content,
            usage=TokenUsage.from_api(data.get("usage")),
            model=str(data.get("model") or self.model),
            finish_reason=choice.get("finish_reason"),
        )

    # ---- structured output --------------------------------------------------------------------------

    def response_format(self, name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
        if self.json_mode == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}
        if self.json_mode == "json_object":
            return {"type": "json_object"}
        return None

    async def chat_json(
        self,
        messages: list[Message],
        *,
        name: str,
        schema: dict[str, Any],
        validate: Callable[[Any], T],
        max_tokens: int | None = None,
    ) -> JsonResult[T]:
        """Ask for JSON matching `schema`; `validate(parsed)` returns the value or raises InvalidReply /
        pydantic.ValidationError / ValueError. One repair retry quotes the error back to the model."""
        conversation = list(messages)
        usage = TokenUsage()
        fmt = self.response_format(name, schema)
        for attempt in range(2):
            result = await self.chat(conversation, response_format=fmt, max_tokens=max_tokens)
            usage = usage + result.usage
            try:
                value = validate(parse_json(result.content))
            except ValueError as exc:  # json, pydantic and InvalidReply errors are all ValueErrors
                problem = _describe(exc)
                log.warning("LLM reply invalid (%s), attempt %d", problem, attempt + 1)
                if attempt == 1:
                    raise LLMInvalidOutput(
                        f"the model {self.model} gave invalid output twice; last problem: {problem}"
                    ) from None
                conversation = [
                    *conversation,
                    {"role": "assistant", "content": result.content},
                    {
                        "role": "user",
                        "content": (
                            f"Your reply was not valid: {problem}. Reply again with only one JSON object that "
                            f"follows this JSON schema exactly, and nothing else:\n{json.dumps(schema)}"
                        ),
                    },
                ]
                continue
            return JsonResult(value=value, usage=usage, model=result.model, repaired=attempt > 0)
        raise AssertionError("unreachable")


def parse_json(text: str) -> Any:
    """The JSON value of a reply (a ```json fence around it is tolerated)."""
    match = _FENCE.match(text)
    return json.loads(match.group(1) if match else text)


def _describe(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error["loc"]) or "(root)"
            parts.append(f"{where}: {error['msg']}")
        return "; ".join(parts)
    return str(exc)[:500]
