"""Show notes from a script, its stories and its chapters: the summary's sentences, the sources with
their links, chapter times, and HTML that stays safe whatever the stories' titles say."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from aether.podcasts.notes import build_notes, clock
from aether.text.sentences import split_sentences

SCRIPT: dict[str, Any] = {
    "show_title": "Herald Hour",
    "episode_title": "Balcony solar for renters",
    "description": "In this episode of Herald Hour: plug-in panels on rented balconies; what landlords may refuse.",
    "hosts": [{"name": "Alex", "persona": ""}, {"name": "Sam", "persona": ""}],
    "sources": [{"url": "https://example.org/not-used", "title": "Only when no story is known"}],
}
STORIES: list[dict[str, Any]] = [
    {
        "title": "Plug-in panels on rented balconies",
        "relevance": 0.61,
        "sources": [
            {
                "url": "https://solar.example.org/balcony",
                "title": "Balcony panels <b>explained</b>",
                "publication": "Solar Weekly",
            },
            {"url": "https://tenants.example.net/rights", "title": "Tenants & panels", "publication": "Tenant News"},
        ],
    },
    {
        "title": "What landlords may refuse",
        "relevance": 0.4,
        "sources": [{"url": "https://solar.example.org/balcony", "title": "dup", "publication": "Solar Weekly"}],
    },
]
CHAPTERS = [
    {"start": 0.0, "title": "Welcome"},
    {"start": 14.2, "title": "Plug-in panels on rented balconies"},
    {"start": 75.9, "title": "What landlords may refuse"},
    {"start": 3725.0, "title": "Goodbye"},
]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.tags: list[str] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "a":
            self._href = dict(attrs)["href"]

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self.links.append((self._href, data))
            self._href = None


def test_notes_from_script_stories_and_chapters() -> None:
    notes = build_notes(SCRIPT, STORIES, CHAPTERS, show_title="Herald Hour", topic="balcony solar")
    assert 2 <= len(split_sentences(notes.summary)) <= 4
    assert notes.summary.startswith("In this episode of Herald Hour: plug-in panels")
    assert "It draws on 2 sources from Solar Weekly and Tenant News." in notes.summary
    assert [(s.url, s.publication) for s in notes.sources] == [
        ("https://solar.example.org/balcony", "Solar Weekly"),
        ("https://tenants.example.net/rights", "Tenant News"),
    ]
    assert [c.time for c in notes.chapters] == ["0:00", "0:14", "1:15", "1:02:05"]

    text = notes.text()
    assert "- Balcony panels <b>explained</b> (Solar Weekly): https://solar.example.org/balcony" in text
    assert "1:15 What landlords may refuse" in text and "https://example.org/not-used" not in text

    parser = _Links()
    parser.feed(notes.html())
    assert parser.links == [
        ("https://solar.example.org/balcony", "Balcony panels <b>explained</b>"),
        ("https://tenants.example.net/rights", "Tenants & panels"),
    ]
    assert "b" not in parser.tags  # the title's markup is text, not HTML
    stored = notes.as_json()
    assert stored["text"] == text and stored["html"] == notes.html()
    assert stored["chapters"][1] == {"start": 14.2, "time": "0:14", "title": "Plug-in panels on rented balconies"}


def test_without_stories_the_scripts_sources_and_a_summary_of_two_sentences() -> None:
    script = SCRIPT | {
        "description": "",
        "sources": [{"url": "javascript:alert(1)", "title": "x"}, "https://a.example/p"],
    }
    notes = build_notes(script, [], [], show_title="Herald Hour", title="Balcony solar", topic="")
    sentences = split_sentences(notes.summary)
    assert sentences[0] == "This episode of Herald Hour is about Balcony solar." and len(sentences) == 2
    assert [s.url for s in notes.sources] == ["javascript:alert(1)", "https://a.example/p"]
    parser = _Links()
    parser.feed(notes.html())
    assert [href for href, _ in parser.links] == ["https://a.example/p"]  # only http(s) is a link
    assert "Chapters" not in notes.text()


def test_nothing_known_still_gives_two_sentences() -> None:
    notes = build_notes(None, [], [], show_title="Herald Hour")
    assert len(split_sentences(notes.summary)) == 2 and notes.sources == () and notes.chapters == ()


def test_clock() -> None:
    assert [clock(s) for s in (0, 59.9, 60, 3599, 3600, 36000)] == [
        "0:00",
        "0:59",
        "1:00",
        "59:59",
        "1:00:00",
        "10:00:00",
    ]
