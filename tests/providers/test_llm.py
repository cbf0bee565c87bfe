"""The OpenAI-compatible client against a local stand-in server that follows the chat-completions API."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from aether.config import load_settings
from aether.errors import ConfigError, InvalidReply, LLMError, LLMInvalidOutput
from aether.providers.llm import LLMClient, TokenUsage
from tests.providers.openai_standin import OpenAIStandin, start_openai_standin

KEY = "sk-test-very-secret-key-1234"


@pytest.fixture
def standin() -> Iterator[OpenAIStandin]:
    server = start_openai_standin(api_key=KEY)
    yield server
    server.close()


def client(standin: OpenAIStandin, **kwargs: Any) -> LLMClient:
    options: dict[str, Any] = {"api_key": SecretStr(KEY), "timeout": 5.0, "max_retries": 2, "backoff_base": 0.01}
    options.update(kwargs)
    return LLMClient(standin.base_url, "standin-model", **options)


class Answer(BaseModel):
    answer: str
    confidence: float


async def test_chat_sends_the_openai_request_and_returns_text_and_usage(standin: OpenAIStandin) -> None:
    standin.replies.append("Hello there, listener.")
    async with client(standin, temperature=0.2) as llm:
        result = await llm.chat([{"role": "user", "content": "Say hello in three words"}], max_tokens=50)
    assert result.content == "Hello there, listener."
    assert result.usage == TokenUsage(prompt_tokens=5, completion_tokens=3, total_tokens=8, calls=1)
    assert result.model == "standin-model" and result.finish_reason == "stop"
    body = standin.requests[0]
    assert body["model"] == "standin-model" and body["temperature"] == 0.2 and body["max_tokens"] == 50
    assert body["messages"] == [{"role": "user", "content": "Say hello in three words"}]
    assert standin.headers[0]["authorization"] == f"Bearer {KEY}"


async def test_server_errors_are_retried_with_back_off(standin: OpenAIStandin) -> None:
    standin.retry_after = "0"
    standin.replies += [(503, {"error": {"message": "overloaded"}}), (429, {"error": {"message": "slow down"}}), "ok"]
    async with client(standin) as llm:
        result = await llm.chat([{"role": "user", "content": "hi"}])
    assert result.content == "ok" and len(standin.requests) == 3


async def test_retries_run_out_with_a_clear_error_and_no_secret(
    standin: OpenAIStandin, caplog: pytest.LogCaptureFixture
) -> None:
    standin.replies += [(500, {"error": {"message": "boom"}})] * 3
    caplog.set_level(logging.DEBUG)
    async with client(standin) as llm:
        with pytest.raises(LLMError) as caught:
            await llm.chat([{"role": "user", "content": "hi"}])
    assert "failed after 3 attempts" in str(caught.value) and "HTTP 500: boom" in str(caught.value)
    assert len(standin.requests) == 3
    assert KEY not in str(caught.value) and KEY not in caplog.text


async def test_client_errors_are_not_retried(standin: OpenAIStandin) -> None:
    async with client(standin, api_key=SecretStr("sk-wrong-key-000000")) as llm:
        with pytest.raises(LLMError, match="Incorrect API key"):
            await llm.chat([{"role": "user", "content": "hi"}])
    assert len(standin.headers) == 1


async def test_a_time_out_is_an_llm_error(standin: OpenAIStandin) -> None:
    standin.delay = 10
    async with client(standin, timeout=0.3, max_retries=1) as llm:
        with pytest.raises(LLMError, match=r"timed out after 0.3 s"):
            await llm.chat([{"role": "user", "content": "hi"}])
    assert len(standin.requests) == 2


async def test_invalid_json_gets_one_repair_retry(standin: OpenAIStandin) -> None:
    standin.replies += ["Sure! Here is your answer: {answer: yes", '```json\n{"answer": "yes", "confidence": 0.9}\n```']
    async with client(standin) as llm:
        result = await llm.chat_json(
            [{"role": "user", "content": "Answer as JSON"}],
            name="answer",
            schema=Answer.model_json_schema(),
            validate=Answer.model_validate,
        )
    assert result.value == Answer(answer="yes", confidence=0.9)
    assert result.repaired and result.usage.calls == 2
    first, second = standin.requests
    assert result.usage.prompt_tokens == 3 + sum(len(str(m["content"]).split()) for m in second["messages"])
    assert first["response_format"]["type"] == "json_schema"
    assert first["response_format"]["json_schema"]["schema"]["required"] == ["answer", "confidence"]
    assert second["messages"][1] == {"role": "assistant", "content": "Sure! Here is your answer: {answer: yes"}
    assert "not valid JSON" in second["messages"][2]["content"]


async def test_schema_violations_are_repaired_then_given_up(standin: OpenAIStandin) -> None:
    standin.replies += ['{"answer": "yes"}', '{"answer": 3, "confidence": "high"}']
    async with client(standin, json_mode="json_object") as llm:
        with pytest.raises(LLMInvalidOutput, match="invalid output twice"):
            await llm.chat_json(
                [{"role": "user", "content": "Answer"}], name="a", schema={}, validate=Answer.model_validate
            )
    assert standin.requests[0]["response_format"] == {"type": "json_object"}
    assert "confidence: Field required" in standin.requests[1]["messages"][-1]["content"]


async def test_custom_validation_errors_reach_the_model(standin: OpenAIStandin) -> None:
    def positive(value: Any) -> int:
        if not isinstance(value, int) or value <= 0:
            raise InvalidReply("the number must be a positive integer")
        return value

    standin.replies += ["-4", "7"]
    async with client(standin, json_mode="none") as llm:
        result = await llm.chat_json([{"role": "user", "content": "n?"}], name="n", schema={}, validate=positive)
    assert result.value == 7
    assert "response_format" not in standin.requests[0]
    assert "positive integer" in standin.requests[1]["messages"][-1]["content"]


def test_from_settings_needs_a_base_url() -> None:
    with pytest.raises(ConfigError) as caught:
        LLMClient.from_settings(load_settings())
    assert caught.value.field == "AETHER_LLM_BASE_URL"
    llm = LLMClient.from_settings(
        load_settings(llm_base_url="http://127.0.0.1:9/v1/", llm_model="m", llm_api_key=KEY, llm_max_retries=1)
    )
    assert llm.base_url == "http://127.0.0.1:9/v1" and llm.model == "m" and llm.max_retries == 1
    report = json.dumps(load_settings(llm_api_key=KEY).public_report())
    assert KEY not in report


def test_a_bad_base_url_names_the_setting() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(llm_base_url="localhost:11434")
    assert caught.value.field == "AETHER_LLM_BASE_URL"
