"""WebVTT transcripts and Podcasting 2.0 chapters: written and read back."""

from __future__ import annotations

import json

import pytest

from aether.errors import ValidationFailed
from aether.media.chapters import Chapter, from_json, podcasting20, to_json
from aether.media.transcript import Cue, parse_webvtt, timestamp, to_webvtt


def test_webvtt_round_trip() -> None:
    cues = [
        Cue(0.0, 2.4, "[Music]"),
        Cue(2.4, 5.125, "Fish & chips <3", "Alex"),
        Cue(3725.5, 3727.0, "Late line", "Sam"),
    ]
    text = to_webvtt(cues, "An episode")
    assert text.startswith("WEBVTT - An episode\n\n1\n00:00:00.000 --> 00:00:02.400\n[Music]\n")
    assert "<v Alex>Fish &amp; chips &lt;3</v>" in text
    assert timestamp(3725.5) == "01:02:05.500"
    assert parse_webvtt(text) == cues


def test_webvtt_needs_its_header() -> None:
    with pytest.raises(ValidationFailed):
        parse_webvtt("1\n00:00:00.000 --> 00:00:01.000\nhi\n")


def test_chapters_json() -> None:
    doc = podcasting20(
        [Chapter(0, 10.5, "Intro"), Chapter(10.5, 99.25, "Topic")], title="Ep", podcast="Show", image_url=None
    )
    assert doc["version"] == "1.2.0" and doc["podcastName"] == "Show"
    assert doc["chapters"][1] == {"startTime": 10.5, "endTime": 99.25, "title": "Topic"}
    assert from_json(to_json(doc)) == [Chapter(0, 10.5, "Intro"), Chapter(10.5, 99.25, "Topic")]
    assert json.loads(to_json(doc)) == doc
