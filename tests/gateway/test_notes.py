"""Show notes where listeners see them: the RSS item (`description` plain text, `content:encoded` HTML, both
read back with an XML parser and with feedparser), the API (`notes` on GET /v1/episodes/{id}) and the
episode page (the sources as links)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import feedparser
import httpx

from aether.config import Settings
from aether.db.pool import Database
from aether.podcasts.notes import build_notes
from aether.podcasts.release import store_notes
from tests.gateway.conftest import create_show, publish_episode, register

CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
STORIES = [
    {
        "title": "Mason bees",
        "sources": [
            {
                "url": "https://bees.example.org/hotels?a=1&b=2",
                "title": "Pollinator <hotels>",
                "publication": "Bee Times",
            },
            {
                "url": "https://garden.example.net/mason",
                "title": "Mason bees ]]> at home",
                "publication": "Garden Post",
            },
        ],
    }
]
CHAPTERS = [{"start": 0.0, "title": "Intro"}, {"start": 1.0, "title": "Mason bees"}, {"start": 95.0, "title": "Bye"}]


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, str] = {}
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self.links[self._href] = data
            self._href = None


async def test_notes_in_the_feed_the_api_and_the_page(client: httpx.Client, db: Database, settings: Settings) -> None:
    auth = register(client)
    show = create_show(client, auth, title="Hive Hour")
    episode_id = await publish_episode(db, settings.home, show["id"], "Bees at home")
    notes = build_notes(
        {"description": "Two hosts on mason bees. Where to put a bee hotel."},
        STORIES,
        CHAPTERS,
        show_title="Hive Hour",
        topic="mason bees",
    )
    async with db.transaction() as conn:
        await store_notes(conn, episode_id, notes)

    body = client.get(f"/shows/{show['slug']}/feed.xml").content
    item = ET.fromstring(body).find("channel/item")
    assert item is not None
    assert item.findtext("description") == notes.text()
    assert "- Pollinator <hotels> (Bee Times): https://bees.example.org/hotels?a=1&b=2" in notes.text()
    assert item.findtext(CONTENT) == notes.html()  # CDATA, "]]>" in a title and all
    anchors = Anchors()
    anchors.feed(item.findtext(CONTENT) or "")
    assert anchors.links == {
        "https://bees.example.org/hotels?a=1&b=2": "Pollinator <hotels>",
        "https://garden.example.net/mason": "Mason bees ]]> at home",
    }
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    assert "https://garden.example.net/mason" in parsed.entries[0].content[0].value

    r = client.get(f"/v1/episodes/{episode_id}", headers=auth["headers"])
    assert r.status_code == 200, r.text
    api = r.json()["episode"]["notes"]
    assert api["summary"] == notes.summary and api["html"] == notes.html()
    assert [s["url"] for s in api["sources"]] == [
        "https://bees.example.org/hotels?a=1&b=2",
        "https://garden.example.net/mason",
    ]
    assert [c["time"] for c in api["chapters"]] == ["0:00", "0:01", "1:35"]
    listed = client.get(f"/v1/shows/{show['id']}/episodes", headers=auth["headers"]).json()["items"]
    assert listed[0]["notes"]["summary"] == notes.summary

    page = client.get(f"/episodes/{episode_id}")
    assert page.status_code == 200
    anchors = Anchors()
    anchors.feed(page.text)
    assert anchors.links["https://bees.example.org/hotels?a=1&b=2"] == "Pollinator <hotels>"
    assert anchors.links["https://garden.example.net/mason"] == "Mason bees ]]> at home"
    assert notes.summary.split(".")[0] in page.text and "1:35" in page.text
