"""SCA: snippets from stored topics, extractive by default, with the LLM when one is configured."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from aether.agents.sca import snippets as sca
from aether.agents.sca.rank import lexrank
from aether.agents.tda import discover as tda
from aether.config import Settings
from aether.db.pool import Database
from aether.errors import NotFound, PermanentError, ValidationFailed
from aether.providers.llm import LLMClient
from aether.queue.tasks import TaskContext
from aether.run.wiring import TASKS
from aether.text import content_tokens, split_sentences
from tests.agents.feed_server import FeedServer
from tests.providers.openai_standin import OpenAIStandin, start_openai_standin


@pytest.fixture
def standin() -> Iterator[OpenAIStandin]:
    server = start_openai_standin()
    yield server
    server.close()


async def _discovered(adb: Database, settings: Settings, server: FeedServer) -> list[dict[str, Any]]:
    feeds = [server.url(p) for p in ("/rss2.xml", "/atom.xml", "/rss1.xml", "/summary.xml")]
    return (await tda.discover(adb, settings, feeds=feeds, limit=4)).topics


async def _source_sentences(adb: Database, topic_id: str) -> dict[str, set[str]]:
    rows = await adb.fetch_all("SELECT url, text FROM feed_items WHERE topic_id = %s", (topic_id,))
    return {r["url"]: set(split_sentences(r["text"])) for r in rows}


async def test_each_topic_gets_a_headline_and_a_summary_drawn_from_its_sources(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    topics = await _discovered(adb, fast_settings, feed_server)
    snippets = await sca.make_snippets(adb, fast_settings, [t["id"] for t in topics])
    assert [s["topic_id"] for s in snippets] == [t["id"] for t in topics]
    for topic, snippet in zip(topics, snippets, strict=True):
        assert snippet["headline"] == topic["title"]
        assert snippet["writer"] == "extractive" and snippet["model"] is None
        sentences = split_sentences(snippet["summary"])
        assert 2 <= len(sentences) <= 4, snippet["summary"]
        by_source = await _source_sentences(adb, topic["id"])
        every = set().union(*by_source.values())
        assert all(s in every for s in sentences), sentences
        # facts: verbatim source sentences, each with the URL it came from, best first
        assert snippet["facts"]
        for fact in snippet["facts"]:
            assert fact["text"] in by_source[fact["source_url"]]
        scores = [f["score"] for f in snippet["facts"]]
        assert scores == sorted(scores, reverse=True)
        assert {s["url"] for s in snippet["sources"]} == {s["url"] for s in topic["sources"]}
    tidal = snippets[0]
    assert len({f["source_url"] for f in tidal["facts"]}) == 3  # attribution to all three feeds
    rows = await adb.fetch_all("SELECT * FROM topics_snippets WHERE type = 'snippet'")
    assert len(rows) == len(topics) and all(r["origin"] == "generated" for r in rows)
    assert json.loads(json.dumps(snippets)) == snippets


async def test_asking_again_returns_the_stored_snippet(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    topics = await _discovered(adb, fast_settings, feed_server)
    first = await sca.make_snippets(adb, fast_settings, [topics[0]["id"]])
    again = await sca.make_snippets(adb, fast_settings, [topics[0]["id"]])
    assert again == first
    count = await adb.fetch_one("SELECT count(*) AS n FROM topics_snippets WHERE type = 'snippet'")
    assert count is not None and count["n"] == 1


async def test_the_llm_writes_headline_and_summary_when_configured(
    adb: Database, fast_settings: Settings, feed_server: FeedServer, standin: OpenAIStandin
) -> None:
    topics = await _discovered(adb, fast_settings, feed_server)
    settings = fast_settings.model_copy(update={"llm_base_url": standin.base_url, "llm_model": "standin-model"})
    standin.replies += [
        '{"headline": "Tidal power for Harbor City", "summary": "The city approved a new plant on Monday."}',
        json.dumps(
            {
                "headline": "Tidal power for Harbor City",
                "summary": "Harbor City approved a tidal plant. It has twelve turbines.",
            }
        ),
    ]
    async with LLMClient(standin.base_url, "standin-model", max_retries=0) as llm:
        [snippet] = await sca.make_snippets(adb, settings, [topics[0]["id"]], llm=llm)
    assert snippet["headline"] == "Tidal power for Harbor City"
    assert snippet["summary"] == "Harbor City approved a tidal plant. It has twelve turbines."
    assert snippet["writer"] == "llm" and snippet["model"] == "standin-model"
    assert "2 to 4 sentences" in standin.requests[1]["messages"][-1]["content"]  # the repair retry
    assert snippet["facts"]  # still verbatim source sentences for the script writers


async def test_the_extractive_summary_stands_in_when_the_llm_fails(
    adb: Database, fast_settings: Settings, feed_server: FeedServer, standin: OpenAIStandin
) -> None:
    topics = await _discovered(adb, fast_settings, feed_server)
    settings = fast_settings.model_copy(update={"sca_summarizer": "llm", "llm_base_url": standin.base_url})
    standin.replies += [(400, {"error": {"message": "model not found"}})]
    [snippet] = await sca.make_snippets(adb, settings, [topics[0]["id"]])
    assert snippet["writer"] == "extractive" and 2 <= len(split_sentences(snippet["summary"])) <= 4


async def test_the_task_handler_takes_topics_or_topic_ids(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    topics = await _discovered(adb, fast_settings, feed_server)
    spec = TASKS["sca.snippets"]
    assert spec.agent == "sca"
    ctx = TaskContext(task_id=1, task_type="sca.snippets", agent="sca", attempt=1, settings=fast_settings, db=adb)
    by_topics = await spec.fn(ctx, {"topics": topics[:2]})
    by_ids = await spec.fn(ctx, {"topic_ids": [t["id"] for t in topics[:2]]})
    assert by_topics == by_ids and len(by_topics["snippets"]) == 2
    with pytest.raises(PermanentError, match=r"topic_ids\[0\]"):
        await spec.fn(ctx, {"topic_ids": ["not-a-uuid"]})
    with pytest.raises(PermanentError, match="no topic with id"):
        await spec.fn(ctx, {"topic_ids": ["00000000-0000-0000-0000-000000000000"]})


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "topic_ids"),
        ({"topic_ids": []}, "topic_ids"),
        ({"topic_ids": "x"}, "topic_ids"),
        ({"topics": [{"title": "no id"}]}, "topics[0].id"),
        ({"topics": ["00000000-0000-0000-0000-00000000000g"]}, "topics[0].id"),
    ],
)
def test_bad_topic_lists_name_the_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        sca.parse_topic_ids(payload)
    assert caught.value.field == field


async def test_unknown_topics_are_not_found(adb: Database, fast_settings: Settings) -> None:
    with pytest.raises(NotFound):
        await sca.make_snippets(adb, fast_settings, ["00000000-0000-0000-0000-000000000000"])


def test_lexrank_prefers_the_sentence_the_others_agree_with() -> None:
    sentences = [
        "The council approved the tidal plant on Monday.",
        "The tidal plant was approved by the council.",
        "Council members approved the plant for tidal energy.",
        "A cat slept in the sun.",
    ]
    scores = lexrank([content_tokens(s) for s in sentences])
    assert abs(scores.sum() - 1) < 1e-9
    assert scores.argmin() == 3


def test_summary_length_follows_the_material() -> None:
    doc = sca.Document(
        "http://x.example/a",
        "t",
        "One fact about the harbor plant here. Two facts about the harbor turbines there. "
        "Three facts about the fish monitoring plan. Tiny. A question about it all, right?",
    )
    candidates = sca.candidate_sentences([doc])
    assert [c.text for c in candidates] == [
        "One fact about the harbor plant here.",
        "Two facts about the harbor turbines there.",
        "Three facts about the fish monitoring plan.",
    ]
    assert len(sca.choose_summary(sca.rank_facts(candidates))) == 2
