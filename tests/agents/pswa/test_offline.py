"""The offline script writer on snippets written here: deterministic, facts only from the snippets (word
for word, with their URL), the word budget, hosts taking turns, attribution, dropped topics noted."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from aether.agents.pswa import offline
from aether.agents.pswa.offline import write_offline
from aether.agents.pswa.script import Script, ScriptRequest
from aether.config import Settings
from aether.errors import ValidationFailed
from aether.text import count_words
from tests.agents.pswa.test_write import _frame_patterns, _prefix_pattern

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "su", "do", "fa", "gu", "hi", "ja", "be"]


def coined(n: int) -> str:
    """A made-up word of its own for every n (so no two facts share a content word by accident)."""
    parts = []
    for _ in range(3):
        parts.append(SYLLABLES[n % len(SYLLABLES)])
        n //= len(SYLLABLES)
    return "".join(parts) + "n"


def fact_text(topic: int, index: int) -> str:
    """A ten-word sentence whose words (bar the fixed ones) belong to this fact alone."""
    base = (topic * 100 + index) * 5
    words = [coined(base + k) for k in range(5)]
    return f"The {words[0]} of {words[1].title()} counted {words[2]} {words[3]} near {words[4]} yesterday."


def snippet(topic: int, facts: int = 12, *, hosts_of_sources: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"s{topic}",
        "topic_id": f"topic-{topic}",
        "headline": f"Story number {topic} about {coined(9000 + topic).title()}",
        "facts": [
            {
                "text": fact_text(topic, i),
                "source_url": f"https://www.news{topic}-{i % hosts_of_sources}.example/item/{i}",
                "source_title": f"Report {topic}.{i}",
                "publication": publication(f"https://www.news{topic}-{i % hosts_of_sources}.example/item/{i}"),
                "order": [0, i],
            }
            for i in range(facts)
        ],
        **extra,
    }


def publication(url: str | None) -> str | None:
    """The publication credited for a fact at `url` (one per made-up site)."""
    match = re.match(r"https://www\.news(\d+-\d+)\.example/", url or "")
    return f"The News {match.group(1)}" if match else None


def request(settings: Settings, snippets: list[dict[str, Any]], **extra: Any) -> ScriptRequest:
    return ScriptRequest.parse({"snippets": snippets, **extra}, settings)


def lines(script: Script) -> list[tuple[str, str, list[str]]]:
    return [(line.speaker, line.text, line.sources) for seg in script.segments for line in seg.lines]


def fact_lines(segment: Any) -> list[Any]:
    return [line for line in segment.lines if line.sources]


# ---- deterministic ------------------------------------------------------------------------------


def test_the_same_request_gives_the_same_script(plain_settings: Settings) -> None:
    snippets = [snippet(t) for t in range(3)]
    first = write_offline(request(plain_settings, snippets, minutes=2))
    again = write_offline(request(plain_settings, json.loads(json.dumps(snippets)), minutes=2))
    reordered = [dict(reversed(list(s.items()))) for s in snippets]  # key order does not matter either
    third = write_offline(request(plain_settings, reordered, minutes=2))
    assert first.model_dump() == again.model_dump() == third.model_dump()
    assert first.writer == offline.WRITER == "offline" and first.prompt_version == offline.PROMPT_VERSION
    assert first.model is None
    other = write_offline(request(plain_settings, snippets, minutes=3))
    assert other.model_dump() != first.model_dump()


# ---- facts only from the snippets ---------------------------------------------------------------


def test_every_fact_line_is_a_snippet_sentence_word_for_word_with_its_url(plain_settings: Settings) -> None:
    snippets = [snippet(t, hosts_of_sources=2) for t in range(4)]
    script = write_offline(request(plain_settings, snippets, minutes=4))
    facts = {s["topic_id"]: {f["text"]: f["source_url"] for f in s["facts"]} for s in snippets}  # topic: text: url
    urls = {f["source_url"] for s in snippets for f in s["facts"]}
    frames = _frame_patterns(script, [s["headline"] for s in snippets])
    prefix = _prefix_pattern({n for n in (publication(u) for u in urls) if n})
    spoken: list[str] = []
    for segment in script.segments:
        for line in segment.lines:
            if not line.sources:
                assert any(p.fullmatch(line.text) for p in frames), f"unsourced line states something: {line.text!r}"
                continue
            assert segment.kind == "topic"
            sentence = prefix.sub("", line.text, count=1)
            assert sentence in facts[segment.topic_id], line.text  # from this topic's own snippet
            assert line.sources == [facts[segment.topic_id][sentence]]
            spoken.append(sentence)
    assert len(spoken) >= 20 and len(spoken) == len(set(spoken))  # nothing said twice
    cited = {url for seg in script.segments for line in seg.lines for url in line.sources}
    assert {ref.url for ref in script.sources} == cited
    titles = {f["source_url"]: f["source_title"] for s in snippets for f in s["facts"]}
    assert all(ref.title == titles[ref.url] for ref in script.sources)


def test_a_sentence_two_snippets_share_is_spoken_once(plain_settings: Settings) -> None:
    first, second = snippet(1, facts=3), snippet(2, facts=3)
    shared = first["facts"][0]
    second["facts"].insert(0, {**shared, "source_url": "https://other.example/copy"})
    retold = {"text": shared["text"].replace("yesterday.", "on Sunday, officials said."), "source_url": None}
    first["facts"].insert(1, retold)  # the same story retold (most words the same) in the same topic
    script = write_offline(request(plain_settings, [first, second], minutes=10))
    texts = [text for _, text, _ in lines(script)]
    assert sum(shared["text"] in t for t in texts) == 1
    assert not any(retold["text"] in t for t in texts)
    assert all(f["text"] in " ".join(texts) for f in first["facts"][2:] + second["facts"][1:])
    assert "https://other.example/copy" not in {ref.url for ref in script.sources}


def test_a_snippet_without_facts_is_read_from_its_summary(plain_settings: Settings) -> None:
    summary_only = {
        "headline": "Ferry service resumes",
        "summary": "The harbour ferry resumed service on Tuesday. Repairs to the hull took two weeks.",
        "sources": [
            {"title": "no url here"},
            {"url": "https://harbour.example/ferry", "title": "Harbour news", "publication": "Harbour News"},
        ],
    }
    script = write_offline(request(plain_settings, [summary_only], minutes=1))
    topic = script.segments[1]
    first, second = fact_lines(topic)
    assert first.text in {
        a.format(source="Harbour News") + "The harbour ferry resumed service on Tuesday." for a in offline.ATTRIBUTION
    }
    assert _prefix_pattern({"Harbour News"}).sub("", second.text, count=1) == "Repairs to the hull took two weeks."
    assert all(line.sources == ["https://harbour.example/ferry"] for line in fact_lines(topic))
    assert [ref.url for ref in script.sources] == ["https://harbour.example/ferry"]


# ---- the word budget ----------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [1, 1.5, 2, 3, 5, 8])
def test_the_budget_is_met_without_passing_it_by_more_than_5_percent(plain_settings: Settings, minutes: float) -> None:
    script = write_offline(request(plain_settings, [snippet(t, facts=30) for t in range(4)], minutes=minutes))
    target = round(minutes * 150)
    assert script.target_words == target and script.target_minutes == minutes
    assert script.word_count == script.spoken_words() == sum(count_words(text) for _, text, _ in lines(script))
    assert 0.85 * target <= script.word_count <= 1.05 * target, (script.word_count, target)
    if minutes == 1:  # four stories' openings alone take half a minute: the last ones are left out
        assert script.notes and all(note.startswith("left out ") for note in script.notes)
    else:
        assert script.notes == []


def test_the_words_per_minute_setting_sets_the_budget(plain_settings: Settings) -> None:
    slow = plain_settings.model_copy(update={"script_words_per_minute": 90})
    script = write_offline(request(slow, [snippet(t, facts=30) for t in range(3)], minutes=4))
    assert script.target_words == 360 and 0.85 * 360 <= script.word_count <= 1.05 * 360


def test_topics_are_read_round_robin_best_ranked_first_in_source_order(plain_settings: Settings) -> None:
    snippets = [snippet(t, facts=10) for t in range(3)]
    for s in snippets:  # ranked best first, but the sources tell them the other way round
        for i, fact in enumerate(s["facts"]):
            fact["order"] = [0, 100 - i]
    script = write_offline(request(plain_settings, snippets, minutes=2))
    for segment, s in zip(script.segments[1:-1], snippets, strict=True):
        spoken = [line.text for line in fact_lines(segment)]
        assert 2 <= len(spoken) < 10  # every topic got its share; none got everything
        best = [f["text"] for f in s["facts"][: len(spoken)]]
        assert [next(b for b in best if t.endswith(b)) for t in spoken] == list(reversed(best))


def test_too_short_a_budget_leaves_topics_out_and_says_so(plain_settings: Settings) -> None:
    snippets = [snippet(t, facts=30) for t in range(12)]
    script = write_offline(request(plain_settings, snippets, minutes=1))
    kept = [seg.topic_id for seg in script.segments[1:-1]]
    assert 1 <= len(kept) < 12 and kept == [s["topic_id"] for s in snippets[: len(kept)]]  # the first ones stay
    left_out = [f"left out {s['headline']!r}: no room in 1 minutes" for s in snippets[len(kept) :]]
    assert script.notes == list(reversed(left_out))
    assert script.word_count <= 1.05 * script.target_words


def test_too_little_material_gives_a_short_script_and_a_note(plain_settings: Settings) -> None:
    script = write_offline(request(plain_settings, [snippet(1, facts=2)], minutes=10))
    assert len(fact_lines(script.segments[1])) == 2
    assert script.notes == [
        f"the sources hold material for {script.word_count} of the 1500 words asked for "
        "(10 minutes at 150 words a minute)"
    ]


# ---- hosts take turns ---------------------------------------------------------------------------


def test_two_hosts_alternate(plain_settings: Settings) -> None:
    script = write_offline(request(plain_settings, [snippet(t) for t in range(3)], minutes=3))
    intro, *topics, outro = script.segments
    assert [line.speaker for line in intro.lines] == ["Alex", "Sam", "Alex"]
    assert intro.lines[0].text == "Hello and welcome to Aether Daily. I'm Alex."
    assert intro.lines[1].text == "And I'm Sam. Today we have three stories for you."
    for topic in topics:
        speakers = [line.speaker for line in topic.lines]
        assert speakers[0] == "Alex"  # the lead opens every story
        facts = [line.speaker for line in fact_lines(topic)]
        assert facts == ["Sam", "Alex"] * (len(facts) // 2) + ["Sam"] * (len(facts) % 2)
        assert all(a != b for a, b in itertools.pairwise(speakers)), speakers
        assert speakers[-1] == "Alex"  # the lead thanks the co-host (or spoke last anyway)
    assert [line.speaker for line in outro.lines] == ["Alex", "Sam", "Alex"]


def test_three_hosts_take_turns_and_one_host_speaks_alone(plain_settings: Settings) -> None:
    snippets = [snippet(t) for t in range(2)]
    trio = write_offline(request(plain_settings, snippets, minutes=3, hosts=["Ann", "Bo", "Cy"]))
    for topic in trio.segments[1:-1]:
        facts = [line.speaker for line in fact_lines(topic)]
        assert facts == (["Bo", "Cy", "Ann"] * len(facts))[: len(facts)] and len(facts) >= 4
    solo = write_offline(request(plain_settings, snippets, minutes=3, hosts=[{"name": "Robin", "persona": "solo"}]))
    assert {speaker for speaker, _, _ in lines(solo)} == {"Robin"}
    assert solo.segments[0].lines[1].text == "Today I have two stories for you."
    assert [line.text for line in solo.segments[-1].lines] == [
        "That's all for today's episode of Aether Daily. Thanks for listening, and see you next time."
    ]
    for topic in solo.segments[1:-1]:  # no reactions to oneself: only the first line is attributed
        assert all(line.text in {f["text"] for s in snippets for f in s["facts"]} for line in fact_lines(topic)[1:])


# ---- attribution --------------------------------------------------------------------------------


def test_every_story_names_its_source_and_each_new_source(plain_settings: Settings) -> None:
    snippets = [snippet(t, facts=6, hosts_of_sources=2) for t in range(3)]
    script = write_offline(request(plain_settings, snippets, minutes=5))
    attributions = [re.escape(a).replace(re.escape("{source}"), "(?P<source>.+?)") for a in offline.ATTRIBUTION]
    for topic in script.segments[1:-1]:
        facts = fact_lines(topic)
        first = next(m for a in attributions if (m := re.match(a, facts[0].text)))
        assert first["source"] == publication(facts[0].sources[0])
        for before, line in itertools.pairwise(facts):
            if publication(line.sources[0]) != publication(before.sources[0]):
                assert line.text.startswith(f"Another source, {publication(line.sources[0])}, adds this. ")
            else:
                assert "source" not in line.text.split(".")[0]
    assert [ref.url for ref in script.sources] == list(
        dict.fromkeys(url for seg in script.segments for line in seg.lines for url in line.sources)
    )


def test_a_fact_without_a_url_is_spoken_without_attribution(plain_settings: Settings) -> None:
    story = {"headline": "Unsourced", "facts": [{"text": "The bridge reopened to traffic today."}]}
    script = write_offline(request(plain_settings, [story], minutes=1, hosts=["Solo"]))
    assert [line.text for line in script.segments[1].lines] == [
        "Let's start with our first story: Unsourced.",
        "The bridge reopened to traffic today.",
    ]
    assert script.segments[1].lines[1].sources == [] and script.sources == []


# ---- titles, description, language ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("headlines", "title"),
    [
        (["One thing happened."], "One thing happened."),
        (["One thing.", "Another thing!"], "One thing and Another thing!"),
        (["A.", "B.", "C."], "A, B and more"),
    ],
)
def test_episode_title_and_description(plain_settings: Settings, headlines: list[str], title: str) -> None:
    snippets = [{"headline": h, "facts": [{"text": f"Fact {i} is true."}]} for i, h in enumerate(headlines)]
    script = write_offline(request(plain_settings, snippets, minutes=5, show_title="Harbor Hour"))
    assert script.episode_title == title and script.show_title == "Harbor Hour"
    assert script.description == "In this episode of Harbor Hour: " + "; ".join(h.rstrip(".") for h in headlines) + "."


def test_a_long_title_is_cut_to_fit(plain_settings: Settings) -> None:
    snippets = [{"headline": "h" * 299 + str(i), "facts": [{"text": f"Fact {i} is true."}]} for i in range(2)]
    script = write_offline(request(plain_settings, snippets, minutes=5))
    assert script.episode_title == "h" * 280 + " and more"


@pytest.mark.parametrize("language", ["en", "EN", "en-GB", "en-US", "eng"])
def test_english_in_any_region_is_written(plain_settings: Settings, language: str) -> None:
    script = write_offline(request(plain_settings, [snippet(1)], minutes=1, language=language))
    assert script.language == language


@pytest.mark.parametrize("language", ["de", "fr-CA", "es"])
def test_other_languages_are_refused_naming_the_setting_to_use(plain_settings: Settings, language: str) -> None:
    req = request(plain_settings, [snippet(1)], minutes=1, language=language)
    with pytest.raises(ValidationFailed) as caught:
        write_offline(req)
    assert caught.value.field == "language" and "AETHER_LLM_BASE_URL" in str(caught.value)


@pytest.mark.xfail(
    strict=True,
    raises=ValidationError,
    reason="bug: the intro's 'Coming up: ...' line joins every headline, and for a valid request (up to 20 "
    "snippets, headlines up to 300 characters) it passes Line.text's 4000 characters: write_offline raises "
    "pydantic's ValidationError (not an AetherError), so the task is retried as if the failure were transient",
)
def test_the_longest_valid_request_gets_a_script(plain_settings: Settings) -> None:
    snippets = [{"headline": f"{i:02d} " + "h" * 297, "facts": [{"text": f"Fact {i} is true."}]} for i in range(20)]
    req = request(plain_settings, snippets, minutes=120)
    script = write_offline(req)
    assert len(script.segments) == 22
