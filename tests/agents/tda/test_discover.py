"""TDA end to end: feeds from a real local HTTP server, topics in a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from aether.agents.tda import discover as tda
from aether.agents.tda.fetch import Fetcher, HostThrottle
from aether.config import Settings
from aether.db.pool import Database
from aether.errors import NotFound, PermanentError, ValidationFailed
from aether.queue.tasks import TaskContext
from aether.run.wiring import TASKS
from tests.agents.feed_server import ETAG, HUGE_BYTES, FeedServer

NOW = datetime(2025, 10, 6, 14, 0, tzinfo=UTC)


async def _topics(adb: Database) -> list[dict[str, Any]]:
    return [dict(r) for r in await adb.fetch_all("SELECT * FROM topics_snippets WHERE type = 'topic' ORDER BY title")]


async def _sources(adb: Database) -> dict[str, dict[str, Any]]:
    return {r["url"]: dict(r) for r in await adb.fetch_all("SELECT * FROM sources")}


def _by_title(topics: list[dict[str, Any]], words: str) -> dict[str, Any]:
    found = [t for t in topics if words.lower() in t["title"].lower()]
    assert len(found) == 1, (words, [t["title"] for t in topics])
    return found[0]


async def test_every_feed_format_is_read_and_one_story_from_three_feeds_is_one_topic(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    feeds = [feed_server.url(p) for p in ("/rss2.xml", "/atom.xml", "/rss1.xml")]
    result = await tda.discover(adb, fast_settings, feeds=feeds, limit=10, now=NOW)

    assert [s.status for s in result.sources] == ["ok", "ok", "ok"]
    assert [s.items for s in result.sources] == [3, 2, 2]
    topics = await _topics(adb)
    assert len(topics) == 5  # tidal (3 feeds), robots, rover, chess, bridge
    tidal = _by_title(topics, "tidal")
    assert len(tidal["sources"]) == 3
    assert {s["feed"] for s in tidal["sources"]} == set(feeds)
    for source in tidal["sources"]:
        assert source["url"].startswith(feed_server.base)
        assert source["title"] and source["published_at"].startswith("2025-10-06")
        assert len(source["text_hash"]) == 64
    assert tidal["content_hash"] and len(tidal["content_hash"]) == 64
    assert tidal["keywords"] and any("tidal" in k.lower() or "harbor" in k.lower() for k in tidal["keywords"])
    assert tidal["language"] == "en-us"
    # three feeds and the freshest story: ranked first, in the database and in the result
    assert result.topics[0]["id"] == str(tidal["id"])
    assert result.topics[0]["score"] == max(t["relevance_score"] for t in topics)
    json.dumps(result.as_dict())  # the task result is plain JSON

    items = await adb.fetch_all("SELECT url, topic_id, text_hash FROM feed_items")
    assert len(items) == 7 and all(i["topic_id"] is not None for i in items)
    rows = await _sources(adb)
    assert all(rows[f]["last_status"] == "ok" and rows[f]["last_error"] is None for f in feeds)
    assert rows[feeds[1]]["title"] == "Coastal Wire"


async def test_summary_only_entries_get_their_article_text(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    await tda.discover(adb, fast_settings, feeds=[feed_server.url("/summary.xml")], now=NOW)
    items = {r["url"].rsplit("/", 1)[1]: r for r in await adb.fetch_all("SELECT * FROM feed_items")}
    sail = items["solar-sail.html"]
    assert sail["text_origin"] == "article"
    assert "Lumen-2 was built by a consortium of four universities" in sail["text"]
    assert "All rights reserved" not in sail["text"] and "Most read" not in sail["text"]
    assert items["coral.html"]["text_origin"] == "article"
    assert len(feed_server.hits("/articles/solar-sail.html")) == 1


async def test_broken_sources_are_recorded_with_the_reason_and_never_stop_the_others(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    settings = fast_settings.model_copy(update={"tda_fetch_timeout": 1.0})
    paths = {
        "/rss2.xml": None,
        "/gzip.xml": None,
        "/old-feed.xml": None,
        "/missing.xml": "HTTP 404",
        "/error.xml": "HTTP 500",
        "/slow.xml": "timed out after 1 s",
        "/malformed.xml": "malformed XML",
        "/page.html": "not a feed: the response is an HTML page",
        "/huge.xml": "response too large",
        "/huge-declared.xml": f"{HUGE_BYTES} bytes declared",
    }
    for path in paths:
        await tda.add_source(adb, feed_server.url(path))
    result = await tda.discover(adb, settings, now=NOW)

    outcome = {s.url.removeprefix(feed_server.base): s for s in result.sources}
    rows = {u.removeprefix(feed_server.base): r for u, r in (await _sources(adb)).items()}
    for path, reason in paths.items():
        if reason is None:
            assert outcome[path].status == "ok", (path, outcome[path])
            assert rows[path]["last_status"] == "ok" and rows[path]["consecutive_failures"] == 0
        else:
            assert outcome[path].status == "error" and reason in (outcome[path].error or ""), (path, outcome[path])
            assert rows[path]["last_status"] == "error", path
            assert reason in rows[path]["last_error"] and rows[path]["last_error_at"] is not None
            assert rows[path]["consecutive_failures"] == 1
    assert rows["/missing.xml"]["last_http_status"] == 404
    # gzip decoded, redirect followed (and the final URL remembered)
    titles = {t["title"] for t in await _topics(adb)}
    assert "Volcano observatory installs new tilt sensors" in titles
    assert "City marathon sets participation record" in titles
    assert rows["/old-feed.xml"]["final_url"] == feed_server.url("/moved.xml")
    # the 50 MB body was abandoned long before its end
    assert feed_server.huge_sent and max(feed_server.huge_sent) < HUGE_BYTES

    await tda.discover(adb, settings, now=NOW)
    rows = {u.removeprefix(feed_server.base): r for u, r in (await _sources(adb)).items()}
    assert rows["/missing.xml"]["consecutive_failures"] == 2


async def test_conditional_get_stores_validators_and_a_304_costs_nothing(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    url = feed_server.url("/etag.xml")
    first = await tda.discover(adb, fast_settings, feeds=[url], now=NOW)
    row = (await _sources(adb))[url]
    assert row["etag"] == ETAG and row["last_modified"] == "Mon, 06 Oct 2025 09:00:00 GMT"
    assert first.sources[0].new_items == 1

    second = await tda.discover(adb, fast_settings, feeds=[url], now=NOW)
    request = feed_server.hits("/etag.xml")[-1]
    assert request.headers["if-none-match"] == ETAG
    assert request.headers["if-modified-since"] == "Mon, 06 Oct 2025 09:00:00 GMT"
    assert second.sources[0].status == "not_modified" and second.sources[0].new_items == 0
    assert (await _sources(adb))[url]["last_status"] == "not_modified"
    assert len(await _topics(adb)) == 1
    # a retried task still hands on the best recent topics
    assert [t["id"] for t in second.topics] == [t["id"] for t in first.topics]


async def test_a_second_run_over_unchanged_feeds_adds_nothing(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    feeds = [feed_server.url("/rss2.xml"), feed_server.url("/atom.xml")]
    await tda.discover(adb, fast_settings, feeds=feeds, now=NOW)
    before = await _topics(adb)
    again = await tda.discover(adb, fast_settings, feeds=feeds, now=NOW)
    assert [s.new_items for s in again.sources] == [0, 0]
    after = await _topics(adb)
    assert [t["id"] for t in after] == [t["id"] for t in before]
    assert [t["updated_at"] for t in after] == [t["updated_at"] for t in before]


async def test_a_later_item_about_a_known_story_grows_that_topic(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    await tda.discover(adb, fast_settings, feeds=[feed_server.url("/rss2.xml")], now=NOW)
    tidal_before = _by_title(await _topics(adb), "tidal")
    assert len(tidal_before["sources"]) == 1

    result = await tda.discover(adb, fast_settings, feeds=[feed_server.url("/rss1.xml")], now=NOW + timedelta(days=1))
    topics = await _topics(adb)
    tidal = _by_title(topics, "tidal")
    assert tidal["id"] == tidal_before["id"]
    assert len(tidal["sources"]) == 2
    assert str(tidal["id"]) in [t["id"] for t in result.topics]
    assert len(topics) == 4  # tidal, robots, rover + the bridge


class FakeClock:
    """A monotonic clock that moves only when the throttle sleeps; records each start it hands out."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class RecordingThrottle(HostThrottle):
    def __init__(self, interval: float, clock: FakeClock) -> None:
        super().__init__(interval, clock=clock, sleep=clock.sleep)
        self.starts: list[tuple[str, float]] = []

    async def wait_turn(self, host: str) -> None:
        await super().wait_turn(host)
        self.starts.append((host, self.clock()))


async def test_requests_to_one_host_keep_the_polite_interval(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    settings = fast_settings.model_copy(update={"tda_host_interval": 0.3, "tda_fetch_articles": False})
    feeds = [feed_server.url(p) for p in ("/rss2.xml", "/atom.xml", "/rss1.xml", "/gzip.xml")]
    clock = FakeClock()
    throttle = RecordingThrottle(0.3, clock)
    async with Fetcher(settings, throttle=throttle) as fetcher:
        result = await tda.discover(adb, settings, feeds=feeds, fetcher=fetcher, now=NOW)
    assert [s.status for s in result.sources] == ["ok"] * 4
    assert len(feed_server.requests) == 4
    # The clock moves only when the throttle waits: the four starts on the one host are one interval apart.
    host = urlsplit(feed_server.base).hostname
    assert [h for h, _ in throttle.starts] == [host] * 4
    assert [at for _, at in throttle.starts] == pytest.approx([0.0, 0.3, 0.6, 0.9])
    assert clock.sleeps == pytest.approx([0.3, 0.3, 0.3])


async def test_manual_topics_with_text_and_an_article_url(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    topic = tda.ManualTopic.parse(
        {
            "title": "Solar sails",
            "text": "Solar sails use the pressure of sunlight. They need no fuel.",
            "urls": [feed_server.url("/articles/solar-sail.html"), feed_server.url("/missing.xml")],
        }
    )
    async with Fetcher(fast_settings) as fetcher:
        created, failures = await tda.add_manual_topics(adb, fast_settings, [topic], fetcher=fetcher)
    assert len(created) == 1 and created[0]["origin"] == "manual" and created[0]["title"] == "Solar sails"
    assert [s["url"] for s in created[0]["sources"]] == [feed_server.url("/articles/solar-sail.html")]
    assert len(failures) == 1 and "HTTP 404" in failures[0]
    row = (await _topics(adb))[0]
    assert row["content"].startswith("Solar sails use the pressure of sunlight.")
    items = await adb.fetch_all("SELECT * FROM feed_items")
    assert len(items) == 1 and items[0]["source_id"] is None and str(items[0]["topic_id"]) == created[0]["id"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"feeds": "http://x.example/feed"}, "feeds"),
        ({"feeds": ["ftp://x.example/feed"]}, "feeds[0]"),
        ({"feeds": ["http://ok.example/a", "not a url"]}, "feeds[1]"),
        ({"limit": 0}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"manual_topics": [{"text": "no title"}]}, "manual_topics[0].title"),
        ({"manual_topics": [{"title": "x", "urls": ["javascript:alert(1)"]}]}, "manual_topics[0].urls[0]"),
    ],
)
def test_bad_requests_name_the_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        tda.DiscoverRequest.parse(payload)
    assert caught.value.field == field
    assert field.split("[")[0] in caught.value.message


async def test_no_sources_at_all_is_a_clear_error(adb: Database, fast_settings: Settings) -> None:
    with pytest.raises(ValidationFailed, match="no feed sources"):
        await tda.discover(adb, fast_settings)


async def test_sources_add_list_remove(adb: Database) -> None:
    row, inserted = await tda.add_source(adb, "https://news.example/feed.xml", "News")
    assert inserted and row["enabled"]
    _, again = await tda.add_source(adb, "https://news.example/feed.xml")
    assert not again
    assert [s["url"] for s in await tda.list_sources(adb)] == ["https://news.example/feed.xml"]
    await tda.remove_source(adb, "https://news.example/feed.xml")
    assert await tda.list_sources(adb) == []
    with pytest.raises(NotFound):
        await tda.remove_source(adb, "https://news.example/feed.xml")
    with pytest.raises(ValidationFailed) as caught:
        await tda.add_source(adb, "news.example/feed")
    assert caught.value.field == "url"
    assert await tda.list_sources(adb) == []


async def test_the_task_handler_returns_plain_json(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    spec = TASKS["tda.discover"]
    assert spec.agent == "tda"
    ctx = TaskContext(task_id=1, task_type="tda.discover", agent="tda", attempt=1, settings=fast_settings, db=adb)
    result = await spec.fn(ctx, {"feeds": [feed_server.url("/rss2.xml")], "limit": 2})
    assert json.loads(json.dumps(result)) == result
    assert len(result["topics"]) == 2 and result["sources"][0]["status"] == "ok"
    with pytest.raises(PermanentError, match="limit"):
        await spec.fn(ctx, {"limit": 1000})
