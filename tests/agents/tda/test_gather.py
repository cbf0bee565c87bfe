"""aether.agents.tda.gather: an episode's stories come from its own sources and are about its topic
(a real feed server on 127.0.0.1, the real database)."""

from __future__ import annotations

import ipaddress
import json

import pytest

from aether.agents.tda.fetch import Fetcher
from aether.agents.tda.gather import gather
from aether.config import Settings
from aether.db.pool import Database
from aether.errors import NoMatchingStory, NoSources, PermanentError, SourcesFailed
from aether.providers import netguard
from aether.providers.netguard import Guard, IPAddress
from aether.queue.tasks import TaskContext
from aether.run.wiring import TASKS
from tests.agents.feed_server import FeedServer


async def test_the_topic_picks_the_stories_and_names_their_publications(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    feeds = [feed_server.url("/rss2.xml"), feed_server.url("/atom.xml")]
    found = await gather(adb, fast_settings, "the tidal energy plant at the breakwater", sources=feeds, minutes=5)
    titles = [t["title"] for t in found.topics]
    assert titles and all("tidal" in t.lower() for t in titles), titles
    chosen = {r["title"] for r in found.relevance if r["chosen"]}
    assert not any("chess" in t.lower() or "robot" in t.lower() for t in chosen)
    publications = {s["publication"] for t in found.topics for s in t["sources"]}
    assert publications <= {"Harbor City Herald", "Coastal Wire"} and publications
    assert all(r["score"] >= 0.35 for r in found.relevance)
    source_ids = {r["id"] for r in await adb.fetch_all("SELECT id FROM sources WHERE url = ANY(%s)", (feeds,))}
    stored = await adb.fetch_all(
        "SELECT source_ids FROM topics_snippets WHERE id = ANY(%s::uuid[])", ([t["id"] for t in found.topics],)
    )
    assert stored and all(set(r["source_ids"]) <= source_ids and r["source_ids"] for r in stored)
    assert json.loads(json.dumps(found.as_dict())) == found.as_dict()


async def test_an_off_topic_request_fails_naming_the_topic(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    feeds = [feed_server.url("/rss2.xml"), feed_server.url("/atom.xml")]
    with pytest.raises(NoMatchingStory) as failure:
        await gather(adb, fast_settings, "lattice QCD", sources=feeds)
    assert "no story in this show's 2 sources matches 'lattice QCD'" in failure.value.message
    assert "add a source or pass sources with the episode" in failure.value.message
    assert failure.value.code == "no_matching_story"


async def test_no_source_answering_is_its_own_reason(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    with pytest.raises(SourcesFailed) as failure:
        await gather(adb, fast_settings, "tidal energy", sources=[feed_server.url("/missing.xml")])
    assert "none of this show's source answered" in failure.value.message
    assert "404" in failure.value.message
    with pytest.raises(NoSources):
        await gather(adb, fast_settings, "tidal energy", sources=[])


async def test_stories_of_other_sources_never_reach_the_episode(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    """The Mars story is stored (another show read the Herald), but this show reads only the Wire."""
    herald, wire = feed_server.url("/rss2.xml"), feed_server.url("/atom.xml")
    other = await gather(adb, fast_settings, "Mars rover sediments of an ancient lake", sources=[herald])
    assert any("mars" in t["title"].lower() for t in other.topics)
    with pytest.raises(NoMatchingStory):
        await gather(adb, fast_settings, "Mars rover sediments of an ancient lake", sources=[wire])


async def test_a_page_given_with_the_episode_is_read_as_an_article(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    page = feed_server.url("/articles/coral.html")
    found = await gather(
        adb, fast_settings, "divers replanting coral reefs", sources=[feed_server.url("/rss2.xml")], urls=[page]
    )
    assert [s["url"] for t in found.topics for s in t["sources"]] == [page]
    source = await adb.fetch_one("SELECT kind FROM sources WHERE url = %s", (page,))
    assert source is not None and source["kind"] == "article"
    # an article on an address (no domain, no og:site_name) is credited to no one rather than to an IP
    assert found.topics[0]["sources"][0]["publication"] is None


async def test_a_feed_that_answers_304_keeps_its_stories(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    feed = feed_server.url("/etag.xml")
    first = await gather(adb, fast_settings, "the natural history museum reopens", sources=[feed])
    second = await gather(adb, fast_settings, "the natural history museum reopens", sources=[feed])
    assert second.sources[0].status == "not_modified"
    assert [t["title"] for t in second.topics] == [t["title"] for t in first.topics]


async def test_the_length_asked_sets_how_many_stories_are_taken(
    adb: Database, fast_settings: Settings, feed_server: FeedServer
) -> None:
    feeds = [feed_server.url(p) for p in ("/rss2.xml", "/atom.xml", "/rss1.xml")]
    short = await gather(adb, fast_settings, "Harbor City", sources=feeds, minutes=0.5)
    long = await gather(adb, fast_settings, "Harbor City", sources=feeds, minutes=60)
    relevant = len(long.relevance)
    assert len(short.topics) == 1 < relevant
    assert len(long.topics) == relevant  # all the material there is
    assert long.as_dict()["material"]["minutes"] < 60


async def test_the_task_handler(adb: Database, fast_settings: Settings, feed_server: FeedServer) -> None:
    spec = TASKS["tda.gather"]
    assert spec.agent == "tda"
    ctx = TaskContext(task_id=1, task_type="tda.gather", agent="tda", attempt=1, settings=fast_settings, db=adb)
    payload = {"topic": "tidal energy plant", "sources": [feed_server.url("/rss2.xml")], "urls": [], "minutes": 2}
    result = await spec.fn(ctx, payload)
    assert json.loads(json.dumps(result)) == result and result["topics"]
    with pytest.raises(PermanentError) as failure:
        await spec.fn(ctx, {**payload, "topic": "lattice QCD"})
    assert failure.value.code == "no_matching_story"
    with pytest.raises(PermanentError, match="minutes"):
        await spec.fn(ctx, {**payload, "minutes": 0})


async def test_article_links_inside_a_feed_are_fetched_through_the_guard(
    adb: Database, fast_settings: Settings, feed_server: FeedServer, other_feed_server: FeedServer
) -> None:
    """A feed on an allowed host whose entries link to articles at a refused address: the stories come from
    the feed's own text and no request reaches the articles' host; with the articles' host allowed, the
    same gather reads the articles (so the first half shows the guard at work, not a missing fetch)."""
    briefs = feed_server.body("summary.xml").replace(feed_server.base.encode(), other_feed_server.base.encode())
    feed_server.extra["/briefs.xml"] = (200, "application/rss+xml; charset=utf-8", briefs)
    feeds = [feed_server.url("/briefs.xml")]
    topic = "the solar sail spacecraft raising its orbit"
    first = ipaddress.ip_address("127.0.0.1")

    def feed_host_only(ip: IPAddress) -> str | None:
        return None if ip == first else netguard.refusal(ip)

    guarded = fast_settings.model_copy(update={"fetch_allow_private": False})
    async with Fetcher(guarded, host_interval=0, guard=Guard(policy=feed_host_only)) as fetcher:
        found = await gather(adb, guarded, topic, sources=feeds, fetcher=fetcher)
    assert [t["title"] for t in found.topics] == ["Solar sail spacecraft completes first orbit raise"]
    assert feed_server.hits("/briefs.xml") and other_feed_server.requests == []
    origins = await adb.fetch_all(
        "SELECT text_origin FROM feed_items WHERE url LIKE %s", (other_feed_server.base + "%",)
    )
    assert {r["text_origin"] for r in origins} == {"feed"}

    async with Fetcher(fast_settings, host_interval=0) as fetcher:  # AETHER_FETCH_ALLOW_PRIVATE=true
        await gather(adb, fast_settings, topic, sources=feeds, fetcher=fetcher)
    assert other_feed_server.hits("/articles/solar-sail.html")
