"""The script model: structure rules, limits, JSON round trips, and the request a writer gets (with
errors that name the field and the rule)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from aether.agents.pswa.script import (
    MAX_MINUTES,
    MAX_SNIPPETS,
    MIN_MINUTES,
    Script,
    ScriptRequest,
    script_json_schema,
)
from aether.config import Settings
from aether.errors import AetherError, ValidationFailed, invalid
from aether.text import count_words
from tests.media.scripts import short_script


def script_data(**changes: Any) -> dict[str, Any]:
    """A whole valid Script as JSON: the media tests' short script plus the fields only PSWA writes."""
    data = {
        **short_script(),
        "target_minutes": 1.0,
        "target_words": 150,
        "word_count": 0,
        "writer": "offline",
        "model": None,
        "prompt_version": "offline-1",
        "notes": [],
    }
    data.update(changes)
    return data


def failure(data: dict[str, Any]) -> ValidationFailed:
    with pytest.raises(ValidationError) as caught:
        Script.model_validate(data)
    return invalid(caught.value)


# ---- the script ------------------------------------------------------------------------------------


def test_a_valid_script_round_trips_through_json() -> None:
    data = script_data()
    script = Script.model_validate(data)
    text = script.model_dump_json()
    again = Script.model_validate_json(text)
    assert again == script
    assert again.model_dump(mode="json") == json.loads(text)
    assert [s.kind for s in again.segments] == ["intro", "topic", "outro"]
    assert again.segments[1].lines[0].sources == ["https://example.org/a"]
    assert again.segments[0].lines[0].sources == []  # the default when a line cites nothing
    assert again.sources[0].url == "https://example.org/a" and again.sources[0].title == "A"


def test_spoken_words_counts_every_line_and_nothing_else() -> None:
    script = Script.model_validate(script_data())
    expected = sum(count_words(line.text) for segment in script.segments for line in segment.lines)
    assert script.spoken_words() == expected == 28
    assert count_words(script.episode_title) > 0 and script.word_count == 0  # titles are not spoken


def test_the_json_schema_describes_the_script() -> None:
    schema = script_json_schema()
    json.dumps(schema)  # plain JSON
    assert set(schema["required"]) >= {"show_title", "episode_title", "hosts", "segments", "writer", "prompt_version"}
    assert schema["additionalProperties"] is False
    segment = schema["$defs"]["Segment"]
    assert segment["properties"]["kind"]["enum"] == ["intro", "topic", "outro"]
    assert schema["$defs"]["Line"]["properties"]["sources"]["description"].startswith("URLs")


def test_every_speaker_must_be_a_host() -> None:
    data = script_data()
    data["segments"][1]["lines"][1]["speaker"] = "Narrator"
    error = failure(data)
    assert isinstance(error, AetherError) and error.code == "invalid"
    assert error.field == "payload"  # a rule over the whole script, not one field
    assert str(error) == "payload: segments[1].lines[1].speaker 'Narrator' is not a host (hosts: Alex, Sam)"


@pytest.mark.parametrize(
    "kinds",
    [
        ["topic", "topic", "outro"],
        ["intro", "topic", "topic"],
        ["intro", "intro", "topic", "outro"],
        ["intro", "topic", "outro", "outro"],
        ["intro", "outro", "topic", "outro"],
    ],
)
def test_segments_run_intro_topics_outro(kinds: list[str]) -> None:
    data = script_data()
    line = {"speaker": "Alex", "text": "Hello."}
    data["segments"] = [{"kind": k, "title": k.title(), "lines": [line]} for k in kinds]
    error = failure(data)
    assert error.field == "payload"
    assert str(error) == f"payload: segments must be intro, one or more topic segments, outro (got {', '.join(kinds)})"


def test_many_topic_segments_are_fine() -> None:
    data = script_data()
    topic = data["segments"][1]
    data["segments"][1:2] = [copy.deepcopy(topic) for _ in range(5)]
    assert [s.kind for s in Script.model_validate(data).segments] == ["intro", *["topic"] * 5, "outro"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(segments=d["segments"][:2]), "segments"),
        (lambda d: d.update(hosts=[]), "hosts"),
        (lambda d: d.update(hosts=[{"name": f"H{i}"} for i in range(5)]), "hosts"),
        (lambda d: d["hosts"][0].update(name=""), "hosts[0].name"),
        (lambda d: d["hosts"][1].update(name="x" * 61), "hosts[1].name"),
        (lambda d: d["hosts"][0].update(persona="p" * 301), "hosts[0].persona"),
        (lambda d: d.update(show_title=""), "show_title"),
        (lambda d: d.update(show_title="s" * 201), "show_title"),
        (lambda d: d.update(episode_title="e" * 301), "episode_title"),
        (lambda d: d.update(description=""), "description"),
        (lambda d: d.update(description="d" * 5001), "description"),
        (lambda d: d.update(language="e"), "language"),
        (lambda d: d.update(language="e" * 17), "language"),
        (lambda d: d.update(target_minutes=0), "target_minutes"),
        (lambda d: d.update(target_words=0), "target_words"),
        (lambda d: d.update(word_count=-1), "word_count"),
        (lambda d: d.pop("writer"), "writer"),
        (lambda d: d.pop("prompt_version"), "prompt_version"),
        (lambda d: d["segments"][1].update(kind="ad"), "segments[1].kind"),
        (lambda d: d["segments"][1].update(title=""), "segments[1].title"),
        (lambda d: d["segments"][2].update(lines=[]), "segments[2].lines"),
        (lambda d: d["segments"][0]["lines"][1].update(text=""), "segments[0].lines[1].text"),
        (lambda d: d["segments"][0]["lines"][1].update(text="w" * 4001), "segments[0].lines[1].text"),
        (lambda d: d["segments"][0]["lines"][0].update(speaker=""), "segments[0].lines[0].speaker"),
        (lambda d: d["sources"][0].pop("url"), "sources[0].url"),
    ],
)
def test_limits_name_the_field(change: Any, field: str) -> None:
    data = script_data()
    change(data)
    error = failure(data)
    assert error.field == field
    assert str(error).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(rating=5), "rating"),
        (lambda d: d["hosts"][0].update(voice="x"), "hosts[0].voice"),
        (lambda d: d["segments"][0].update(music="x"), "segments[0].music"),
        (lambda d: d["segments"][0]["lines"][0].update(emotion="x"), "segments[0].lines[0].emotion"),
        (lambda d: d["sources"][0].update(date="x"), "sources[0].date"),
    ],
)
def test_unknown_fields_are_refused(change: Any, field: str) -> None:
    data = script_data()
    change(data)
    error = failure(data)
    assert error.field == field and str(error) == f"{field}: Extra inputs are not permitted"


def test_the_limits_themselves_are_allowed() -> None:
    data = script_data(
        show_title="s" * 200,
        episode_title="e" * 300,
        description="d" * 5000,
        language="x" * 16,
        hosts=[{"name": "n" * 60, "persona": "p" * 300}, *({"name": f"H{i}"} for i in range(3))],
    )
    for segment in data["segments"]:
        for line in segment["lines"]:
            line["speaker"] = "n" * 60
    data["segments"][1]["lines"][0]["text"] = "w" * 4000
    script = Script.model_validate(data)
    assert len(script.hosts) == 4 and len(script.segments[1].lines[0].text) == 4000


# ---- the request ----------------------------------------------------------------------------------


def test_a_request_takes_its_defaults_from_the_settings(plain_settings: Settings) -> None:
    request = ScriptRequest.parse({"snippets": [{"headline": "A story"}]}, plain_settings)
    assert [h.name for h in request.hosts] == ["Alex", "Sam"]
    assert request.hosts[0].persona.startswith("curious lead host")
    assert request.show_title == "Aether Daily" and request.language == "en"
    assert request.minutes == 5 and request.words_per_minute == 150
    assert request.target_words == 750


def test_a_request_overrides_and_normalises(plain_settings: Settings) -> None:
    settings = plain_settings.model_copy(update={"script_words_per_minute": 120})
    request = ScriptRequest.parse(
        {
            "snippets": [
                {
                    "headline": "  Two\n  spaced   words ",
                    "summary": "A summary.",
                    "facts": [{"text": "A fact.", "source_url": "https://a.example/1", "score": 0.9}],
                    "sources": [{"url": "https://a.example/1", "title": "A"}],
                    "keywords": ["spaced words", "tides"],
                }
            ],
            "minutes": 2.5,
            "hosts": ["Ann", {"name": "Bo", "persona": "skeptic"}],
            "show_title": "Harbor Hour",
            "language": "en-GB",
            "unknown": "ignored as well",
        },
        settings,
    )
    assert request.snippets[0].headline == "Two spaced words"
    assert request.snippets[0].facts[0].text == "A fact."
    assert request.snippets[0].keywords == ["spaced words", "tides"]  # the offline writer asks about them
    assert "score" not in request.snippets[0].facts[0].model_dump()
    assert [(h.name, h.persona) for h in request.hosts] == [("Ann", ""), ("Bo", "skeptic")]
    assert request.show_title == "Harbor Hour" and request.language == "en-GB"
    assert request.target_words == round(2.5 * 120) == 300


def test_empty_titles_and_languages_fall_back_to_the_settings(plain_settings: Settings) -> None:
    request = ScriptRequest.parse({"snippets": [{"headline": "x"}], "show_title": "", "language": None}, plain_settings)
    assert request.show_title == "Aether Daily" and request.language == "en"


@pytest.mark.parametrize("minutes", [MIN_MINUTES, 7, MAX_MINUTES])
def test_minutes_within_the_limits(plain_settings: Settings, minutes: float) -> None:
    request = ScriptRequest.parse({"snippets": [{"headline": "x"}], "minutes": minutes}, plain_settings)
    assert request.minutes == minutes and request.target_words == round(minutes * 150)


@pytest.mark.parametrize(
    ("payload", "field", "rule"),
    [
        ({"snippets": [{"headline": "x"}], "minutes": MIN_MINUTES - 0.01}, "minutes", "greater than or equal to 1"),
        ({"snippets": [{"headline": "x"}], "minutes": MAX_MINUTES + 0.01}, "minutes", "less than or equal to 120"),
        ({"snippets": [{"headline": "x"}], "minutes": "soon"}, "minutes", "valid number"),
        ({"snippets": [{"headline": f"s{i}"} for i in range(MAX_SNIPPETS + 1)]}, "snippets", "at most 20 items"),
        ({"snippets": [{"headline": "h" * 301}]}, "snippets[0].headline", "at most 300 characters"),
        ({"snippets": [{"headline": "x", "summary": "s" * 5001}]}, "snippets[0].summary", "at most 5000 characters"),
        (
            {"snippets": [{"headline": "x", "facts": [{"text": "f"}] * 501}]},
            "snippets[0].facts",
            "at most 500 items",
        ),
        ({"snippets": [{"headline": "x", "facts": [{"text": "f" * 2001}]}]}, "snippets[0].facts[0].text", "2000"),
        ({"snippets": [{"headline": "x", "sources": [{}] * 201}]}, "snippets[0].sources", "at most 200 items"),
        ({"snippets": [{"headline": "x"}], "hosts": [{"name": "H"}] * 5}, "hosts", "at most 4 items"),
        ({"snippets": [{"headline": "x"}], "hosts": [{"persona": "no name"}]}, "hosts[0].name", "Field required"),
        ({"snippets": [{"headline": "x"}], "hosts": ["Ann", "Ann"]}, "payload", "host names must be unique"),
        ({"snippets": [{"headline": "x"}], "show_title": "t" * 201}, "show_title", "at most 200 characters"),
        ({"snippets": [{"headline": "x"}], "language": "e"}, "language", "at least 2 characters"),
        ({"snippets": "not a list"}, "snippets", "valid list"),
        ({"snippets": [{"headline": "\t \n"}]}, "snippets[0].headline", "must not be blank"),
    ],
)
def test_bad_requests_name_the_field_and_the_rule(
    plain_settings: Settings, payload: dict[str, Any], field: str, rule: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        ScriptRequest.parse(payload, plain_settings)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ") and rule in str(caught.value)
    assert "Value error" not in str(caught.value)


def test_a_request_that_is_not_an_object_is_refused(plain_settings: Settings) -> None:
    with pytest.raises(ValidationFailed) as caught:
        ScriptRequest.parse(["snippets"], plain_settings)  # type: ignore[arg-type]
    assert caught.value.field == "payload" and str(caught.value) == "the request must be a JSON object"


def test_a_request_refuses_fields_it_does_not_know() -> None:
    with pytest.raises(ValidationError) as caught:
        ScriptRequest.model_validate(
            {
                "snippets": [{"headline": "x"}],
                "minutes": 1,
                "hosts": [{"name": "A"}],
                "show_title": "S",
                "language": "en",
                "words_per_minute": 150,
                "voice": "deep",
            }
        )
    error = invalid(caught.value)
    assert error.field == "voice" and str(error) == "voice: Extra inputs are not permitted"
