"""The LLM script writer against the local OpenAI-compatible stand-in: the prompt it sends, the reply
completed and validated as a Script, the repair retry, the validator's retry for a script that does not
read as the hosts talking, and what happens when the model will not comply."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from aether.agents.pswa import llm as pswa_llm
from aether.agents.pswa.llm import ScriptReply, messages_for, write_llm
from aether.agents.pswa.script import Script, ScriptRequest
from aether.agents.pswa.validate import check
from aether.config import Settings
from aether.errors import LLMError, LLMInvalidOutput, ProviderError
from aether.providers.llm import LLMClient
from tests.agents.pswa.test_offline import snippet
from tests.agents.pswa.test_write import _llm_script, standin  # noqa: F401  (standin: the stand-in server fixture)
from tests.providers.openai_standin import OpenAIStandin, count_tokens

KEY = "sk-standin-key-0000"  # the key test_write's `standin` fixture expects


@pytest.fixture
async def llm(standin: OpenAIStandin) -> AsyncIterator[LLMClient]:  # noqa: F811
    async with LLMClient(standin.base_url, "standin-model", api_key=SecretStr(KEY), max_retries=0) as client:
        yield client


def request(settings: Settings, **extra: Any) -> ScriptRequest:
    payload = {"snippets": [snippet(1, facts=3), snippet(2, facts=2)], "minutes": 2, **extra}
    return ScriptRequest.parse(payload, settings)


def reply_with(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], str]:
    """A well-behaved model's reply (test_write's `_llm_script`), then changed."""

    def reply(body: dict[str, Any]) -> str:
        data = json.loads(_llm_script(body))
        change(data)
        return json.dumps(data)

    return reply


# ---- the prompt -----------------------------------------------------------------------------------


def test_the_prompt_holds_the_rules_the_hosts_the_budget_and_the_stories(plain_settings: Settings) -> None:
    stories = [
        snippet(1, facts=35, summary="The first summary."),
        {"id": "only-an-id", "headline": "No topic id", "facts": [{"text": "One fact."}]},
        {"headline": "Neither id", "summary": "Just a summary."},
    ]
    req = ScriptRequest.parse(
        {
            "snippets": stories,
            "minutes": 3,
            "hosts": [{"name": "Ann", "persona": "the lead"}, "Bo"],
            "show_title": "Harbor Hour",
            "language": "en-GB",
        },
        plain_settings,
    )
    system, user = messages_for(req)
    assert system["role"] == "system" and user["role"] == "user"
    text = system["content"]
    assert "podcast 'Harbor Hour'" in text and "Hosts: Ann (the lead); Bo." in text
    assert "Write in language 'en-GB'." in text
    assert "about 450 words" in text and "Use only facts stated in the source sentences" in text
    assert "never invent names, numbers, dates or quotes" in text
    assert text.endswith("Every speaker must be one of: Ann, Bo.")
    body = json.loads(user["content"])
    assert body["target_words"] == 450
    assert [s["topic_id"] for s in body["stories"]] == ["topic-1", "only-an-id", None]
    assert [s["headline"] for s in body["stories"]] == [s["headline"] for s in stories]
    assert body["stories"][0]["summary"] == "The first summary." and body["stories"][2]["summary"] == "Just a summary."
    first = body["stories"][0]["source_sentences"]
    assert len(first) == 30  # at most 30 sentences a story
    assert first[0] == {"text": stories[0]["facts"][0]["text"], "source_url": stories[0]["facts"][0]["source_url"]}
    assert body["stories"][1]["source_sentences"] == [{"text": "One fact.", "source_url": None}]
    assert body["stories"][2]["source_sentences"] == []
    assert "No host speaks two lines in a row" in text and "Never use the same stock phrase twice" in text
    assert "refers to something concrete in the line before it" in text and "No line opens with a pronoun" in text
    assert "introduces each story with a question" in text and "Speak each host in the manner" in text


def test_the_prompt_holds_the_shows_own_intro_outro_and_keyphrases(plain_settings: Settings) -> None:
    req = ScriptRequest.parse(
        {
            "snippets": [snippet(1, facts=2, keywords=["tide mills", "ferries"])],
            "hosts": ["Ann", "Bo"],
            "show_title": "Harbor Hour",
            "intro": "This is {show} with {host}.",
            "outro": "{host} signing off.",
        },
        plain_settings,
    )
    system, user = messages_for(req)
    assert "opens with exactly this line by Ann: 'This is Harbor Hour with Ann.'" in system["content"]
    assert "ends with exactly this line by Ann: 'Ann signing off.'" in system["content"]
    assert json.loads(user["content"])["stories"][0]["keyphrases"] == ["tide mills", "ferries"]


# ---- a valid reply --------------------------------------------------------------------------------


async def test_a_valid_reply_becomes_a_script_with_the_known_fields(
    plain_settings: Settings,
    standin: OpenAIStandin,  # noqa: F811
    llm: LLMClient,
) -> None:
    def chatty(data: dict[str, Any]) -> None:  # fields the Script does not have are dropped
        data["mood"] = "upbeat"
        data["segments"][1]["lines"][0]["sources"] = ["https://invented.example/"]

    standin.replies.append(reply_with(chatty))
    req = request(plain_settings, show_title="Harbor Hour")
    script, usage = await write_llm(llm, req)

    (body,) = standin.requests
    assert body["model"] == "standin-model" and body["messages"] == messages_for(req)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "podcast_script", "schema": ScriptReply.model_json_schema()},
    }
    assert standin.headers[0]["authorization"] == f"Bearer {KEY}"

    assert isinstance(script, Script) and Script.model_validate(script.model_dump(mode="json")) == script
    assert script.writer == pswa_llm.WRITER == "llm" and script.prompt_version == pswa_llm.PROMPT_VERSION
    assert script.model == "standin-model" and script.notes == []
    assert (script.show_title, script.language, script.target_minutes, script.target_words) == (
        "Harbor Hour",
        "en",
        2,
        300,
    )
    assert script.hosts == req.hosts and script.episode_title == "Today's news"
    assert [s.kind for s in script.segments] == ["intro", "topic", "topic", "outro"]
    assert [s.topic_id for s in script.segments] == [None, "topic-1", "topic-2", None]
    assert script.segments[1].lines[0].sources == []  # the model cannot cite: only the request's URLs count
    facts = [f for s in req.snippets for f in s.facts]
    assert [(r.url, r.title) for r in script.sources] == [(f.source_url, f.source_title) for f in facts]
    assert script.word_count == script.spoken_words() > 0

    assert usage.calls == 1 and usage.completion_tokens == count_tokens(reply_with(chatty)(body))
    assert usage.prompt_tokens == sum(count_tokens(m["content"]) for m in body["messages"])
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


async def test_a_reply_in_a_json_fence_is_read(
    plain_settings: Settings,
    standin: OpenAIStandin,  # noqa: F811
    llm: LLMClient,
) -> None:
    standin.replies.append(lambda body: f"```json\n{_llm_script(body)}\n```")
    script, usage = await write_llm(llm, request(plain_settings))
    assert [s.kind for s in script.segments] == ["intro", "topic", "topic", "outro"] and usage.calls == 1


# ---- repair -----------------------------------------------------------------------------------------


def _unknown_topic(data: dict[str, Any]) -> None:
    data["segments"][1]["topic_id"] = "made-up"


def _no_outro(data: dict[str, Any]) -> None:
    data["segments"][-1]["kind"] = "topic"


def _two_segments(data: dict[str, Any]) -> None:
    data["segments"] = data["segments"][:2]


def _no_title(data: dict[str, Any]) -> None:
    del data["episode_title"]


def _empty_line(data: dict[str, Any]) -> None:
    data["segments"][2]["lines"][0]["text"] = ""


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_unknown_topic, "segments[1].topic_id 'made-up' is not one of the stories"),
        (_no_outro, "segments must be intro, one or more topic segments, outro (got intro, topic, topic, topic)"),
        (_two_segments, "segments: List should have at least 3 items"),
        (_no_title, "episode_title: Field required"),
        (_empty_line, "segments.2.lines.0.text: String should have at least 1 character"),
    ],
)
async def test_an_invalid_reply_is_repaired_once(
    plain_settings: Settings,
    standin: OpenAIStandin,  # noqa: F811
    llm: LLMClient,
    change: Callable[[dict[str, Any]], None],
    problem: str,
) -> None:
    standin.replies += [reply_with(change), _llm_script]
    script, usage = await write_llm(llm, request(plain_settings))
    assert script.notes == ["the model's first reply was invalid; the repair retry succeeded"]
    assert [s.kind for s in script.segments] == ["intro", "topic", "topic", "outro"]
    assert usage.calls == 2
    first, second = standin.requests
    assert second["messages"][:2] == first["messages"]
    assert second["messages"][2] == {"role": "assistant", "content": reply_with(change)(first)}
    repair = second["messages"][3]
    assert repair["role"] == "user" and problem in repair["content"]
    assert json.dumps(ScriptReply.model_json_schema()) in repair["content"]


async def test_two_invalid_replies_give_up(
    plain_settings: Settings,
    standin: OpenAIStandin,  # noqa: F811
    llm: LLMClient,
) -> None:
    standin.replies += [reply_with(_unknown_topic), reply_with(_no_outro), _llm_script]
    with pytest.raises(LLMInvalidOutput) as caught:
        await write_llm(llm, request(plain_settings))
    assert isinstance(caught.value, ProviderError) and caught.value.code == "llm_invalid_output"
    assert str(caught.value).startswith("the model standin-model gave invalid output twice; last problem: ")
    assert "segments must be intro" in str(caught.value)
    assert len(standin.requests) == 2  # one repair, no more


# ---- refusals -------------------------------------------------------------------------------------


async def test_a_model_that_refuses_in_prose_is_asked_once_more_then_given_up(
    plain_settings: Settings,
    standin: OpenAIStandin,  # noqa: F811
    llm: LLMClient,
) -> None:
    refusal = "I'm sorry, but I can't help with writing that script."
    standin.replies += [refusal, refusal]
    with pytest.raises(LLMInvalidOutput, match=r"last problem: not valid JSON \(Expecting value at line 1 column 1\)"):
        await write_llm(llm, request(plain_settings))
    assert len(standin.requests) == 2
    assert standin.requests[1]["messages"][2] == {"role": "assistant", "content": refusal}
    assert "Your reply was not valid: not valid JSON" in standin.requests[1]["messages"][3]["content"]


async def test_a_refusal_after_a_valid_repair_request_still_succeeds(
    plain_settings: Settings,
    standin: OpenAIStandin,  # noqa: F811
    llm: LLMClient,
) -> None:
    standin.replies += ["I can't do that.", _llm_script]
    script, usage = await write_llm(llm, request(plain_settings))
    assert script.notes == ["the model's first reply was invalid; the repair retry succeeded"] and usage.calls == 2


async def test_an_api_that_refuses_the_request_is_an_llm_error_without_retries(
    plain_settings: Settings,
    standin: OpenAIStandin,  # noqa: F811
    llm: LLMClient,
) -> None:
    standin.replies.append((400, {"error": {"message": "This request violates the content policy."}}))
    with pytest.raises(LLMError) as caught:
        await write_llm(llm, request(plain_settings))
    assert not isinstance(caught.value, LLMInvalidOutput)
    assert "refused the request: HTTP 400: This request violates the content policy." in str(caught.value)
    assert len(standin.requests) == 1


# ---- the validator's retry ------------------------------------------------------------------------------


def _monologue(data: dict[str, Any]) -> None:
    """Valid JSON and a valid Script, but not a conversation: one host reads a story, with stock phrases."""
    topic = data["segments"][1]
    first = topic["lines"][0]["speaker"]
    for line in topic["lines"]:
        line["speaker"] = first
        line["text"] = "Right. " + line["text"]


async def test_a_script_that_does_not_read_as_a_conversation_is_sent_back_once_with_its_problems(
    plain_settings: Settings,
    standin: OpenAIStandin,  # noqa: F811
    llm: LLMClient,
) -> None:
    standin.replies += [reply_with(_monologue), _llm_script]
    req = request(plain_settings)
    script, usage = await write_llm(llm, req)
    assert usage.calls == 2 and check(script, req, sourced_only=False) == []
    assert script.notes == ["the model's first script had 7 validator problem(s); it was asked once more"]
    first, second = standin.requests
    assert second["messages"][:2] == first["messages"]
    assert json.loads(second["messages"][2]["content"])["segments"][1]["lines"][1]["text"].startswith("Right. ")
    asked = second["messages"][3]["content"]
    assert asked.startswith("Your script does not read as the hosts talking: ")
    assert "segments[1].lines[1]: Sam speaks two lines in a row" in asked
    assert "the stock phrase 'Right.' repeats segments[1].lines[0]" in asked and "; and 3 more" in asked


async def test_problems_left_after_the_retry_are_repaired_or_noted_not_fatal(
    plain_settings: Settings,
    standin: OpenAIStandin,  # noqa: F811
    llm: LLMClient,
) -> None:
    standin.replies += [reply_with(_monologue), reply_with(_monologue)]
    req = request(plain_settings)
    script, usage = await write_llm(llm, req)
    assert usage.calls == 2
    topic = script.segments[1]
    assert len(topic.lines) == 1 and topic.lines[0].text.count("Right. ") == 4  # one host's lines made one
    left = check(script, req, sourced_only=False)  # "Right." still thrice too often; the next story's host
    assert [(p.kind, p.segment) for p in left] == [("repeated_phrase", 1)] * 3 + [("same_speaker", 2)]
    assert script.notes[-1].startswith("the validator found 4 problem(s) left: segments[1].lines[0]: the stock")
    assert script.word_count == script.spoken_words()


async def test_an_invalid_first_reply_uses_the_one_retry(
    plain_settings: Settings,
    standin: OpenAIStandin,  # noqa: F811
    llm: LLMClient,
) -> None:
    standin.replies += ["not json", reply_with(_monologue), _llm_script]
    script, usage = await write_llm(llm, request(plain_settings))
    assert usage.calls == 2 and len(standin.requests) == 2  # no third call for the style problems
    assert script.notes[0] == "the model's first reply was invalid; the repair retry succeeded"
    assert script.notes[1].startswith("the validator found ")


def test_a_continuation_marked_with_an_ellipsis_may_follow_the_same_host(plain_settings: Settings) -> None:
    req = request(plain_settings)
    data = json.loads(_llm_script({"messages": messages_for(req)}))
    topic = data["segments"][1]["lines"]
    topic.insert(2, {"speaker": topic[1]["speaker"], "text": "… and that is only the first part."})
    topic.insert(3, {"speaker": topic[2]["speaker"], "text": "A second line from the same host."})
    script = pswa_llm._validator(req, "m")(data)
    assert [(p.kind, p.line) for p in check(script, req, sourced_only=False)] == [("same_speaker", 3)]
    merged = pswa_llm.merge_turns(script)
    assert (
        merged.segments[1].lines[1].text.endswith("and that is only the first part. A second line from the same host.")
    )
