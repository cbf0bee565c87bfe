"""The one validator: speaker changes (and the marked continuation), repeated stock phrases, dangling
openers (a source sentence after its own antecedent, the hosts' words inside a segment), and facts that
are not from the sources; `measure` sums them up for bench/writer.py."""

from __future__ import annotations

from typing import Any

import pytest

from aether.agents.pswa.script import Script, ScriptRequest
from aether.agents.pswa.validate import Problem, check, measure
from aether.config import Settings

URL = "https://harbour.example/ferry"
FACTS = [
    "The harbour ferry carried 1,200 passengers on Monday.",
    "It also ran two extra crossings.",
    "Captain Ines Sola steered the first boat.",
    "Tickets cost four euros.",
]


def req(settings: Settings, **extra: Any) -> ScriptRequest:
    facts = [
        {"text": t, "source_url": URL, "publication": "Harbour News", "order": [0, i + 1]} for i, t in enumerate(FACTS)
    ]
    payload = {"snippets": [{"topic_id": "t1", "headline": "Ferry service resumes", "facts": facts}], **extra}
    return ScriptRequest.parse({"hosts": ["Ann", "Bo"], "minutes": 2, **payload}, settings)


def script(topic: list[tuple[str, str, list[str]]], *, writer: str = "offline") -> Script:
    """A script whose story segment has these (speaker, text, sources) lines (the goodbye by the other host)."""
    last = "Bo" if topic[-1][0] == "Ann" else "Ann"
    return Script.model_validate(
        {
            "show_title": "Aether Daily",
            "episode_title": "Ferries",
            "description": "Ferries.",
            "language": "en",
            "hosts": [{"name": "Ann"}, {"name": "Bo"}],
            "target_minutes": 2,
            "target_words": 300,
            "word_count": 0,
            "segments": [
                {"kind": "intro", "title": "Hi", "lines": [{"speaker": "Ann", "text": "Welcome to Aether Daily."}]},
                {
                    "kind": "topic",
                    "title": "Ferry service resumes",
                    "topic_id": "t1",
                    "lines": [{"speaker": s, "text": t, "sources": u} for s, t, u in topic],
                },
                {"kind": "outro", "title": "Bye", "lines": [{"speaker": last, "text": "See you next time."}]},
            ],
            "writer": writer,
            "prompt_version": "x",
        }
    )


GOOD = [
    ("Bo", "Ferry service resumes. Ann, what about the passengers?", []),
    ("Ann", f"Harbour News reports: {FACTS[0]} {FACTS[1]}", [URL]),
    ("Bo", f"So, 1,200 passengers. {FACTS[2]}", [URL]),
    ("Ann", f"Ines Sola, noted. {FACTS[3]}", [URL]),
    ("Bo", "Thanks, Ann.", []),
]


def kinds(problems: list[Problem]) -> list[tuple[str, int, int]]:
    return [(p.kind, p.segment, p.line) for p in problems]


def test_a_conversation_from_the_sources_has_no_problem(plain_settings: Settings) -> None:
    request = req(plain_settings)
    good = script(GOOD)
    assert check(good, request) == []
    figures = measure(good, request)
    assert figures.speaker_changes == 1.0 and figures.lines == 7
    assert (figures.repeated_phrases, figures.dangling_openers, figures.same_speaker, figures.unsourced) == (0, 0, 0, 0)


def test_the_same_host_twice_in_a_row_unless_marked_as_a_continuation(plain_settings: Settings) -> None:
    request = req(plain_settings)
    lines = [*GOOD[:4], ("Ann", "Thanks, Bo.", [])]
    problems = check(script(lines), request)
    assert kinds(problems) == [("same_speaker", 1, 4)]
    assert str(problems[0]) == "segments[1].lines[4]: Ann speaks two lines in a row"
    assert check(script([*GOOD[:4], ("Ann", "… and thanks, Bo.", [])]), request) == []
    assert kinds(check(script(GOOD[1:]), request)) == [("same_speaker", 1, 0)]  # the intro's Ann, then Ann
    assert measure(script(GOOD[1:]), request).speaker_changes == 4 / 5


def test_a_stock_phrase_said_twice(plain_settings: Settings) -> None:
    request = req(plain_settings)
    lines = [
        GOOD[0],
        ("Ann", f"Right. {FACTS[0]} {FACTS[1]}", [URL]),
        ("Bo", f"Right. {FACTS[2]}", [URL]),
        ("Ann", f"Oh, Ines Sola. {FACTS[3]}", [URL]),
        ("Bo", "Oh, Ann.", []),  # the same phrase around another name: still the same stock phrase
    ]
    problems = check(script(lines), request)
    assert kinds(problems) == [("repeated_phrase", 1, 2), ("repeated_phrase", 1, 4)]
    assert "the stock phrase 'Right.' repeats segments[1].lines[1]" in str(problems[0])
    assert measure(script(lines), request).repeated_phrases == 2


def test_a_dangling_opener(plain_settings: Settings) -> None:
    request = req(plain_settings)
    lines = [GOOD[0], ("Ann", FACTS[0], [URL]), ("Bo", f"Captain Ines Sola, then. {FACTS[2]}", [URL])]
    lines += [("Ann", FACTS[1], [URL]), ("Bo", "This is news to me.", [])]
    problems = check(script(lines), request)
    assert kinds(problems) == [("dangling_opener", 1, 3)]  # "It also ran ..." after another sentence
    assert "'It also ran two extra crossings.' leans on a sentence" in str(problems[0])
    assert check(script([GOOD[0], ("Ann", f"{FACTS[0]}", [URL]), ("Bo", FACTS[1], [URL])]), request) == []
    opening = [("Bo", "They say it is back.", []), *GOOD[1:]]  # the hosts' words: nothing before it in the segment
    assert kinds(check(script(opening), request)) == [("dangling_opener", 1, 0)]


def test_facts_not_from_the_sources_offline_only(plain_settings: Settings) -> None:
    request = req(plain_settings)
    lines = [
        GOOD[0],
        ("Ann", f"Harbour News reports: {FACTS[0]}", [URL]),
        ("Bo", "So, 1,500 passengers, says Mayor Lund.", []),
        ("Ann", "Nothing more to add.", [URL]),
        ("Bo", f"{FACTS[2]}", []),
    ]
    problems = check(script(lines), request)
    assert kinds(problems) == [("unsourced", 1, 2), ("unsourced", 1, 3), ("unsourced", 1, 4)]
    assert "1,500" in problems[0].message and "Lund" in problems[0].message and "Mayor" in problems[0].message
    assert problems[1].message == "cites sources but speaks no source sentence"
    assert problems[2].message == f"speaks from {URL} without citing it"
    assert check(script(lines, writer="llm"), request) == []  # a model may retell: not checked for it
    assert len(check(script(lines, writer="llm"), request, sourced_only=True)) == 3


def test_the_shows_own_intro_is_not_a_dangling_opener_or_a_stock_phrase(plain_settings: Settings) -> None:
    request = req(plain_settings, intro="This is {show}.")
    show = script(GOOD).model_dump()
    show["segments"][0]["lines"][0]["text"] = "This is Aether Daily."
    assert check(Script.model_validate(show), request) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Energy use drops as well.", True),
        ("Tickets cost four euros, too.", True),
        ("There are more boats.", False),
    ],
)
def test_trailing_connectives_lean_on_the_sentence_before(plain_settings: Settings, text: str, problem: bool) -> None:
    request = req(plain_settings)
    lines = [GOOD[0], ("Ann", text, [])]
    assert bool(check(script(lines, writer="llm"), request)) is False  # hosts' words: a sentence came before
    opening = [("Bo", text, []), *GOOD[1:]]
    assert bool(check(script(opening, writer="llm"), request)) is problem
