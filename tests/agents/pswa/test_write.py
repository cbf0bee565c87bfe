"""PSWA: offline and LLM writers, validated scripts, and the script cache on both backends."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from aether.agents.pswa import offline as pswa_offline
from aether.agents.pswa import write as pswa
from aether.agents.pswa.script import Script, ScriptRequest
from aether.agents.pswa.validate import check, dependent
from aether.agents.sca import snippets as sca
from aether.agents.tda import discover as tda
from aether.config import Settings
from aether.db.pool import Database
from aether.errors import PermanentError, ValidationFailed
from aether.providers.llm import LLMClient
from aether.queue.tasks import TaskContext
from aether.run.wiring import TASKS
from aether.text import count_words, split_sentences
from tests.agents.feed_server import FeedServer
from tests.providers.openai_standin import OpenAIStandin, start_openai_standin


@pytest.fixture
def standin() -> Iterator[OpenAIStandin]:
    server = start_openai_standin(api_key="sk-standin-key-0000")
    yield server
    server.close()


@pytest.fixture
async def snippets(adb: Database, fast_settings: Settings, feed_server: FeedServer) -> list[dict[str, Any]]:
    feeds = [feed_server.url(p) for p in ("/rss2.xml", "/atom.xml", "/rss1.xml", "/summary.xml")]
    topics = (await tda.discover(adb, fast_settings, feeds=feeds, limit=4)).topics
    return await sca.make_snippets(adb, fast_settings, [t["id"] for t in topics])


def request(settings: Settings, snippets: list[dict[str, Any]], **extra: Any) -> ScriptRequest:
    return ScriptRequest.parse({"snippets": snippets, **extra}, settings)


async def _source_sentences(adb: Database) -> dict[str, set[str]]:
    rows = await adb.fetch_all("SELECT url, text FROM feed_items")
    return {r["url"]: set(split_sentences(r["text"])) for r in rows}


async def test_every_fact_in_an_offline_script_traces_to_a_source_sentence(
    adb: Database, fast_settings: Settings, snippets: list[dict[str, Any]]
) -> None:
    req = request(fast_settings, snippets, minutes=3)
    result = await pswa.write_script(adb, fast_settings, req)
    script = Script.model_validate(result.script)
    assert result.writer == "offline" and not result.cache_hit
    assert check(script, req) == []  # conversation, openers, stock phrases and sources: the one validator
    sources = await _source_sentences(adb)
    fact_lines = 0
    for segment in script.segments:
        for line in segment.lines:
            said = sorted((s for url in line.sources for s in sources[url] if s in line.text), key=line.text.index)
            if not line.sources:  # the hosts' own words: the validator checks that they add no facts
                continue
            fact_lines += 1
            assert said and line.text.endswith(said[-1]), (line.text, line.sources)
    assert fact_lines >= 10
    assert [s.kind for s in script.segments] == ["intro", "topic", "topic", "topic", "topic", "outro"]
    speakers = [line.speaker for seg in script.segments for line in seg.lines]
    assert all(a != b for a, b in itertools.pairwise(speakers))  # back-and-forth
    assert {s.url for s in script.sources} <= set(sources)


@pytest.mark.parametrize("minutes", [1, 2, 4])
async def test_the_offline_writer_meets_the_word_budget_within_15_percent(
    fast_settings: Settings, snippets: list[dict[str, Any]], minutes: int
) -> None:
    req = request(fast_settings, snippets, minutes=minutes)
    script = pswa_offline.write_offline(req)
    words = sum(count_words(line.text) for seg in script.segments for line in seg.lines)
    assert script.word_count == words
    assert script.target_words == minutes * 150
    assert abs(words - script.target_words) <= 0.15 * script.target_words, (words, script.target_words)
    assert script.notes == [] or minutes <= 2  # a short episode may leave topics out (framing takes words), and says so


async def test_same_inputs_give_the_same_script_and_hosts_change_it(
    fast_settings: Settings, snippets: list[dict[str, Any]]
) -> None:
    first = pswa_offline.write_offline(request(fast_settings, snippets, minutes=3))
    again = pswa_offline.write_offline(request(fast_settings, json.loads(json.dumps(snippets)), minutes=3))
    assert first.model_dump() == again.model_dump()
    solo = pswa_offline.write_offline(
        request(fast_settings, snippets, minutes=3, hosts=[{"name": "Robin", "persona": "solo host"}])
    )
    assert {line.speaker for seg in solo.segments for line in seg.lines} == {"Robin"}
    trio = pswa_offline.write_offline(request(fast_settings, snippets, minutes=3, hosts=["Ann", "Bo", "Cy"]))
    assert {line.speaker for seg in trio.segments for line in seg.lines} == {"Ann", "Bo", "Cy"}


async def test_the_second_run_hits_the_postgres_cache(
    adb: Database, fast_settings: Settings, snippets: list[dict[str, Any]]
) -> None:
    req = request(fast_settings, snippets, minutes=2)
    first = await pswa.write_script(adb, fast_settings, req)
    second = await pswa.write_script(adb, fast_settings, req)
    assert not first.cache_hit and second.cache_hit
    assert second.script == first.script and second.cache_key == first.cache_key
    row = await adb.fetch_one("SELECT * FROM generated_scripts")
    assert row is not None and row["hit_count"] == 1 and row["writer"] == "offline"
    assert row["prompt_version"] == pswa_offline.PROMPT_VERSION and row["last_used_at"] is not None
    other = await pswa.write_script(adb, fast_settings, request(fast_settings, snippets, minutes=3))
    assert not other.cache_hit and other.cache_key != first.cache_key


async def test_the_sqlite_cache_backend(
    adb: Database, fast_settings: Settings, snippets: list[dict[str, Any]], tmp_path: Path
) -> None:
    path = tmp_path / "cache" / "scripts.db"
    settings = fast_settings.model_copy(update={"script_cache": "sqlite", "script_cache_path": path})
    req = request(settings, snippets, minutes=2)
    first = await pswa.write_script(adb, settings, req)
    second = await pswa.write_script(adb, settings, req)
    assert not first.cache_hit and second.cache_hit and second.script == first.script
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT cache_key, writer, hit_count, script_content FROM generated_scripts").fetchall()
    assert len(rows) == 1 and rows[0][0] == first.cache_key and rows[0][1:3] == ("offline", 1)
    assert json.loads(rows[0][3]) == first.script
    count = await adb.fetch_one("SELECT count(*) AS n FROM generated_scripts")
    assert count is not None and count["n"] == 0


QUESTIONS = ("What happened with {}?", "Tell us about {}.", "What about {}?", "What's new on {}?", "Any news on {}?")


def _llm_script(body: dict[str, Any], speaker: str | None = None) -> str:
    """What a well-behaved model would answer: built from the request it got, the hosts taking turns, each
    story's first line a question of its own, sentences that lean on the one before left out."""
    hosts = re.findall(r"one of: (.+)\.$", body["messages"][0]["content"])[0].split(", ")
    stories = json.loads(body["messages"][1]["content"])["stories"]
    turn = itertools.cycle(hosts)

    def line(text: str) -> dict[str, str]:
        return {"speaker": speaker or next(turn), "text": text}

    segments = [{"kind": "intro", "title": "Welcome", "lines": [line("Welcome!")]}]
    for index, story in enumerate(stories):
        lines = [line(QUESTIONS[index].format(story["headline"].rstrip(".")))]
        lines += [line(text) for text in [f["text"] for f in story["source_sentences"] if not dependent(f["text"])][:3]]
        segments.append({"kind": "topic", "title": story["headline"], "topic_id": story["topic_id"], "lines": lines})
    segments.append({"kind": "outro", "title": "Bye", "lines": [line("Goodbye!")]})
    return json.dumps({"episode_title": "Today's news", "description": "Four stories.", "segments": segments})


async def test_the_llm_writer_repairs_invalid_output_and_records_token_usage(
    adb: Database, fast_settings: Settings, snippets: list[dict[str, Any]], standin: OpenAIStandin
) -> None:
    settings = fast_settings.model_copy(
        update={
            "llm_base_url": standin.base_url,
            "llm_model": "standin-model",
            "llm_api_key": SecretStr("sk-standin-key-0000"),
        }
    )
    standin.replies += ['Here is the script: {"episode_title": ', _llm_script]
    req = request(settings, snippets, minutes=2)
    result = await pswa.write_script(adb, settings, req)
    assert result.writer == "llm" and result.model == "standin-model" and not result.cache_hit
    script = Script.model_validate(result.script)
    assert [s.kind for s in script.segments] == ["intro", "topic", "topic", "topic", "topic", "outro"]
    assert script.notes == ["the model's first reply was invalid; the repair retry succeeded"]
    assert len(standin.requests) == 2
    assert standin.requests[0]["response_format"]["json_schema"]["name"] == "podcast_script"
    usage = result.token_usage
    assert usage is not None and usage["calls"] == 2
    assert usage["completion_tokens"] == 5 + len(_llm_script(standin.requests[1]).split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    row = await adb.fetch_one("SELECT token_usage, model, writer FROM generated_scripts")
    assert row is not None and row["token_usage"] == usage and row["writer"] == "llm"

    again = await pswa.write_script(adb, settings, req)
    assert again.cache_hit and again.script == result.script and len(standin.requests) == 2


async def test_the_llm_writer_rejects_speakers_that_are_not_hosts(
    adb: Database, fast_settings: Settings, snippets: list[dict[str, Any]], standin: OpenAIStandin
) -> None:
    standin.api_key = None
    standin.replies += [lambda body: _llm_script(body, speaker="Narrator"), _llm_script]
    async with LLMClient(standin.base_url, "standin-model", max_retries=0) as llm:
        result = await pswa.write_script(
            adb, fast_settings, request(fast_settings, snippets, minutes=2), writer="llm", llm=llm
        )
    assert {line["speaker"] for seg in result.script["segments"] for line in seg["lines"]} == {"Alex", "Sam"}
    assert "'Narrator' is not a host" in standin.requests[1]["messages"][-1]["content"]


async def test_the_task_handler(adb: Database, fast_settings: Settings, snippets: list[dict[str, Any]]) -> None:
    spec = TASKS["pswa.write_script"]
    assert spec.agent == "pswa"
    ctx = TaskContext(task_id=1, task_type="pswa.write_script", agent="pswa", attempt=1, settings=fast_settings, db=adb)
    out = await spec.fn(ctx, {"snippets": snippets[:2], "minutes": 2, "show_title": "Harbor Hour"})
    assert json.loads(json.dumps(out)) == out
    assert out["script"]["show_title"] == "Harbor Hour" and out["cache_hit"] is False
    assert (await spec.fn(ctx, {"snippets": snippets[:2], "minutes": 2, "show_title": "Harbor Hour"}))["cache_hit"]
    with pytest.raises(PermanentError, match=r"snippets\[0\]\.headline"):
        await spec.fn(ctx, {"snippets": [{"summary": "no headline"}], "minutes": 2})


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "snippets"),
        ({"snippets": []}, "snippets"),
        ({"snippets": [{"headline": "  "}]}, "snippets[0].headline"),
        ({"snippets": [{"headline": "x", "facts": [{"text": ""}]}]}, "snippets[0].facts[0].text"),
        ({"snippets": [{"headline": "x"}], "minutes": 0}, "minutes"),
        ({"snippets": [{"headline": "x"}], "minutes": 500}, "minutes"),
        ({"snippets": [{"headline": "x"}], "hosts": ["A", "A"]}, "payload"),
        ({"snippets": [{"headline": "x"}], "hosts": []}, "hosts"),
    ],
)
def test_bad_requests_name_the_field(fast_settings: Settings, payload: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        ScriptRequest.parse(payload, fast_settings)
    assert caught.value.field == field


def test_the_offline_writer_speaks_english_only(fast_settings: Settings) -> None:
    req = ScriptRequest.parse({"snippets": [{"headline": "Hallo"}], "language": "de"}, fast_settings)
    with pytest.raises(ValidationFailed) as caught:
        pswa_offline.write_offline(req)
    assert caught.value.field == "language"


def test_too_little_material_is_noted_not_padded(fast_settings: Settings) -> None:
    snippet = {
        "headline": "A short story",
        "facts": [{"text": "The library opened a new wing on Monday.", "source_url": "https://news.example/a"}],
    }
    script = pswa_offline.write_offline(ScriptRequest.parse({"snippets": [snippet], "minutes": 5}, fast_settings))
    assert script.word_count < 0.85 * script.target_words
    assert any("material for" in note for note in script.notes)
    fact_lines = [line for seg in script.segments for line in seg.lines if line.sources]
    assert len(fact_lines) == 1 and fact_lines[0].text.endswith("The library opened a new wing on Monday.")
