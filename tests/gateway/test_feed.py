"""The public RSS feed: parsed by feedparser and by gPodder's podcastparser; ETag/304; enclosures
fetched with Range."""

from __future__ import annotations

import io
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import feedparser
import httpx
import podcastparser

from aether.config import Settings
from aether.db.pool import Database
from tests.gateway.conftest import create_show, publish_episode, register
from tests.podcasts.conftest import WorkerThread, fast_settings, worker_thread  # noqa: F401  (fixtures)
from tests.queue.helpers import until

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
}


async def test_feed_parses_with_every_tag(client: httpx.Client, db: Database, settings: Settings) -> None:
    auth = register(client)
    show = create_show(client, auth, title="Feed & Friends", owner_email="owner@example.org", explicit=False)
    first = await publish_episode(db, settings.home, show["id"], "First <episode>")
    second = await publish_episode(db, settings.home, show["id"], "Second", with_extras=False)
    await db.execute("UPDATE episodes SET published_at = published_at - interval '1 day' WHERE id = %s", (first,))
    r = client.get(f"/shows/{show['slug']}/feed.xml")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/rss+xml")
    body = r.content

    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed.title == "Feed & Friends"
    assert not parsed.feed.get("itunes_explicit")
    assert [e.title for e in parsed.entries] == ["Second", "First <episode>"]
    entry = parsed.entries[1]
    assert entry.id == f"aether-episode-{first}"
    assert entry.enclosures[0].type == "audio/mpeg" and int(entry.enclosures[0].length) > 0
    assert entry.itunes_duration == "00:00:02"
    assert entry.published_parsed is not None

    pod = podcastparser.parse(f"{client.base_url}/shows/{show['slug']}/feed.xml", io.BytesIO(body))
    assert pod["title"] == "Feed & Friends"
    assert pod["cover_url"].endswith(f"/shows/{show['slug']}/cover.png")
    episodes = pod["episodes"]
    assert len(episodes) == 2
    ep = next(e for e in episodes if e["guid"] == f"aether-episode-{first}")
    assert ep["total_time"] == 2
    assert ep["enclosures"][0]["mime_type"] == "audio/mpeg"
    assert ep["number"] == 1

    root = ET.fromstring(body)
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext("podcast:guid", namespaces=NS) == show["guid"]
    assert channel.find("podcast:locked", NS) is not None
    assert channel.find("itunes:image", NS) is not None
    assert channel.find("itunes:category", NS).get("text") == "Technology"  # type: ignore[union-attr]
    assert channel.findtext("itunes:owner/itunes:email", namespaces=NS) == "owner@example.org"
    items = channel.findall("item")
    with_extras = next(i for i in items if i.findtext("guid") == f"aether-episode-{first}")
    assert with_extras.find("podcast:transcript", NS).get("type") == "text/vtt"  # type: ignore[union-attr]
    assert with_extras.find("podcast:chapters", NS).get("type") == "application/json+chapters"  # type: ignore[union-attr]
    assert with_extras.findtext("itunes:episodeType", namespaces=NS) == "full"
    assert all(i.findtext("pubDate", "").endswith("GMT") for i in items)
    assert second


async def test_etag_and_304(client: httpx.Client, db: Database, settings: Settings) -> None:
    auth = register(client)
    show = create_show(client, auth)
    await publish_episode(db, settings.home, show["id"])
    r = client.get(f"/shows/{show['slug']}/feed.xml")
    etag = r.headers["etag"]
    again = client.get(f"/shows/{show['slug']}/feed.xml", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.head(f"/shows/{show['slug']}/feed.xml").headers["etag"] == etag
    since = client.get(f"/shows/{show['slug']}/feed.xml", headers={"If-Modified-Since": r.headers["last-modified"]})
    assert since.status_code == 304
    await publish_episode(db, settings.home, show["id"], "Newer")
    changed = client.get(f"/shows/{show['slug']}/feed.xml", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_unknown_show_is_404(client: httpx.Client) -> None:
    r = client.get("/shows/nope/feed.xml")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_enclosures_fetched_with_range(client: httpx.Client, db: Database, settings: Settings) -> None:
    auth = register(client)
    show = create_show(client, auth)
    episode_id = await publish_episode(db, settings.home, show["id"])
    parsed = feedparser.parse(client.get(f"/shows/{show['slug']}/feed.xml").content)
    url = parsed.entries[0].enclosures[0].href
    length = int(parsed.entries[0].enclosures[0].length)
    whole = httpx.get(url)
    assert whole.status_code == 200 and len(whole.content) == length
    assert whole.headers["content-type"] == "audio/mpeg" and whole.headers["accept-ranges"] == "bytes"
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{length}"
    assert part.content == whole.content[100:200]
    assert uuid.UUID(episode_id)


async def test_apple_category_with_subcategory_and_image_urls_ending_in_png(
    client: httpx.Client, db: Database, settings: Settings
) -> None:
    auth = register(client)
    r = client.post("/v1/shows", json={"title": "t", "category": "Underwater Basket Weaving"}, headers=auth["headers"])
    assert r.status_code == 422 and r.json()["error"]["field"] == "category"
    assert "Apple Podcasts category" in r.json()["error"]["message"]
    show = create_show(client, auth, title="Physics Hour", category="Science > Physics")
    await publish_episode(db, settings.home, show["id"], "With a cover")
    body = client.get(f"/shows/{show['slug']}/feed.xml").content
    channel = ET.fromstring(body).find("channel")
    assert channel is not None
    [top] = channel.findall("itunes:category", NS)
    assert top.get("text") == "Science"
    assert [c.get("text") for c in top.findall("itunes:category", NS)] == ["Physics"]
    images = [e.get("href") or "" for e in channel.iter(f"{{{NS['itunes']}}}image")]
    assert len(images) == 2 and all(href.endswith((".png", ".jpg")) for href in images), images
    episode_image = images[1]
    assert "/media/episodes/" in episode_image
    r = client.get(episode_image.removeprefix(str(client.base_url).rstrip("/")))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    r = client.patch(f"/v1/shows/{show['id']}", json={"category": "Science > Cooking"}, headers=auth["headers"])
    assert r.status_code == 422 and r.json()["error"]["field"] == "category"


async def test_a_published_episode_is_in_the_feed_at_once(
    client: httpx.Client,
    db: Database,
    fast_settings: Settings,  # noqa: F811
    worker_thread: Callable[..., WorkerThread],  # noqa: F811
) -> None:
    """Through the real publish path (the draft and release steps, media stand-ins): the feed lists the
    episode as soon as it is published, before anyone opens its page, media or API view."""
    auth = register(client)
    show = create_show(client, auth, title="Release Radio")
    worker_thread(fast_settings)
    r = client.post(
        f"/v1/shows/{show['id']}/episodes",
        json={"topic": "The release path"},
        headers=auth["headers"] | {"X-Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 202, r.text
    episode_id = r.json()["episode"]["id"]

    async def published() -> dict[str, Any] | None:
        row = await db.fetch_one("SELECT status, render_version FROM episodes WHERE id = %s", (episode_id,))
        assert row is not None and row["status"] != "failed"
        return dict(row) if row["status"] == "published" else None

    row = await until(published, timeout=90, what="the episode to be published")
    feed = ET.fromstring(client.get(f"/shows/{show['slug']}/feed.xml").content)
    items = feed.findall("./channel/item")
    assert [i.findtext("title") for i in items] == ["The release path"]
    enclosure = items[0].find("enclosure")
    assert enclosure is not None
    assert enclosure.get("url", "").endswith(f"/media/episodes/{episode_id}/v{row['render_version']}/audio.mp3")
    assert int(enclosure.get("length", "0")) > 0
