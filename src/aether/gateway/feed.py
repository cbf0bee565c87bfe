"""The public RSS feed of a show: RSS 2.0 with the iTunes tags and the Podcasting 2.0 namespace.

Feeds are built from `shows` and published `episodes` rows, kept in memory for
AETHER_FEED_CACHE_SECONDS and revalidated by ETag (304). `FeedFastPath` answers
`GET|HEAD /shows/{slug}/feed.xml` before FastAPI's routing, so a cached feed costs little.

An item's `<description>` is its show notes as plain text (summary, sources, chapters) and its
`<content:encoded>` the same notes as HTML in a CDATA section (aether.podcasts.notes); an episode without
notes has its description.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from starlette.types import ASGIApp, Receive, Scope, Send

from aether.db import AsyncConnection, load_queries
from aether.errors import AetherError, DatabaseUnavailable
from aether.gateway.errors import DATABASE_ERRORS, aether_error_response, error_response
from aether.podcasts import categories, media_info, shows
from aether.podcasts.episodes import media_base

Q = load_queries(__file__, "feed.sql")

FEED_PATH = re.compile(r"^/shows/([a-z0-9]+(?:-[a-z0-9]+)*)/feed\.xml$")
MAX_ITEMS = 300
CONTENT_TYPE = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str
    last_modified: datetime
    built_at: float


def rfc2822(moment: datetime | None) -> str:
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _text(tag: str, value: Any) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _duration(seconds: Any) -> str | None:
    if seconds is None:
        return None
    total = round(float(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def render_feed(show: dict[str, Any], episodes: list[dict[str, Any]], base_url: str) -> str:
    """The feed's XML text."""
    feed_url = base_url + shows.feed_path(show["slug"])
    page_url = f"{base_url}/shows/{show['slug']}"
    image_url = f"{base_url}/shows/{show['slug']}/cover.png"
    # only what the owner chose to publish: never the account's email (nobody agreed to publish it)
    author = show.get("author") or show.get("user_display_name") or "Aether"
    owner_email = show.get("owner_email") or ""
    newest = max([e["published_at"] for e in episodes if e["published_at"]] or [show["updated_at"]])
    out: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
        ' xmlns:podcast="https://podcastindex.org/namespace/1.0"'
        ' xmlns:atom="http://www.w3.org/2005/Atom"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        "<channel>",
        _text("title", show["title"]),
        _text("link", page_url),
        f'<atom:link href={quoteattr(feed_url)} rel="self" type="application/rss+xml"/>',
        _text("description", show.get("description") or show["title"]),
        _text("language", show.get("language") or "en"),
        _text("generator", "Aether"),
        _text("lastBuildDate", rfc2822(newest)),
        _text("pubDate", rfc2822(newest)),
        f"<image><url>{escape(image_url)}</url>{_text('title', show['title'])}{_text('link', page_url)}</image>",
        _text("itunes:author", author),
        _text("itunes:summary", show.get("description") or show["title"]),
        f"<itunes:image href={quoteattr(image_url)}/>",
        categories.feed_xml(show.get("category") or "Technology"),
        _text("itunes:explicit", "true" if show.get("explicit") else "false"),
        _text("itunes:type", "episodic"),
        f"<itunes:owner>{_text('itunes:name', author)}{_text('itunes:email', owner_email) if owner_email else ''}"
        "</itunes:owner>",
        _text("podcast:guid", show["guid"]),
        # podcast:locked's owner attribute is optional in the namespace spec
        f"<podcast:locked owner={quoteattr(owner_email)}>yes</podcast:locked>"
        if owner_email
        else "<podcast:locked>yes</podcast:locked>",
    ]
    for episode in episodes:
        out.append(_item(episode, base_url, image_url))
    out.append("</channel>")
    out.append("</rss>")
    return "\n".join(out) + "\n"


def _image_extension(episode: dict[str, Any]) -> str:
    """.jpg or .png, as Apple wants an itunes:image URL to end (the media route takes either spelling)."""
    cover = media_info.describe(episode.get("cover_meta"), episode.get("cover_path"), default_type="image/png")
    return ".jpg" if cover.extension in (".jpg", ".jpeg") else ".png"


def _item(episode: dict[str, Any], base_url: str, show_image: str) -> str:
    eid = str(episode["id"])
    audio = media_info.describe(episode.get("audio_meta"), episode.get("audio_path"), default_type="audio/mpeg")
    media = media_base(base_url, eid, episode.get("render_version"))
    enclosure_url = f"{media}/audio{audio.extension}"
    page_url = f"{base_url}/episodes/{eid}"
    notes = episode.get("notes") if isinstance(episode.get("notes"), dict) else None
    parts = [
        "<item>",
        _text("title", episode["title"]),
        _text("itunes:title", episode["title"]),
        _text("description", (notes or {}).get("text") or episode.get("description") or episode["title"]),
    ]
    if notes and notes.get("html"):
        parts.append(f"<content:encoded>{_cdata(str(notes['html']))}</content:encoded>")
    parts += [
        _text("link", page_url),
        f'<guid isPermaLink="false">{escape(str(episode["guid"]))}</guid>',
        _text("pubDate", rfc2822(episode["published_at"])),
        f'<enclosure url={quoteattr(enclosure_url)} length="{audio.size or 0}" type={quoteattr(audio.content_type)}/>',
        _text("itunes:episodeType", episode.get("episode_type") or "full"),
        _text("itunes:explicit", "false"),
    ]
    duration = _duration(episode.get("duration_seconds") or audio.duration)
    if duration:
        parts.append(_text("itunes:duration", duration))
    if episode.get("episode_number"):
        parts.append(_text("itunes:episode", episode["episode_number"]))
    cover = (
        f"{base_url}/media/episodes/{eid}/cover{_image_extension(episode)}" if episode.get("cover_id") else show_image
    )
    parts.append(f"<itunes:image href={quoteattr(cover)}/>")
    if episode.get("transcript_id"):
        parts.append(f'<podcast:transcript url={quoteattr(f"{media}/transcript.vtt")} type="text/vtt" rel="captions"/>')
    if episode.get("chapters_id"):
        parts.append(f'<podcast:chapters url={quoteattr(f"{media}/chapters.json")} type="application/json+chapters"/>')
    parts.append("</item>")
    return "".join(parts)


async def build_feed(conn: AsyncConnection, slug: str, base_url: str) -> Feed | None:
    show = await shows.show_by_slug(conn, slug)
    if show is None:
        return None
    cur = await conn.execute(Q.feed_episodes, {"show_id": show["id"], "limit": MAX_ITEMS})
    episodes = [dict(r) for r in await cur.fetchall()]
    body = render_feed(show, episodes, base_url).encode("utf-8")
    newest = max([e["updated_at"] for e in episodes if e["updated_at"]] + [show["updated_at"]])
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Feed(body=body, etag=etag, last_modified=newest, built_at=time.monotonic())


class FeedCache:
    """Feeds by (base URL, slug), each fresh for `ttl` seconds; one build at a time per feed."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._feeds: dict[tuple[str, str], Feed] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def forget(self, slug: str) -> None:
        for key in [k for k in self._feeds if k[1] == slug]:
            del self._feeds[key]

    def fresh(self, base_url: str, slug: str) -> Feed | None:
        feed = self._feeds.get((base_url, slug))
        if feed is not None and time.monotonic() - feed.built_at < self.ttl:
            return feed
        return None

    async def get(self, conn_factory: Any, base_url: str, slug: str) -> Feed | None:
        feed = self.fresh(base_url, slug)
        if feed is not None:
            return feed
        key = (base_url, slug)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            feed = self.fresh(base_url, slug)
            if feed is not None:
                return feed
            async with conn_factory() as conn:
                feed = await build_feed(conn, slug, base_url)
            if feed is None:
                self._feeds.pop(key, None)
                return None
            if len(self._feeds) > 10_000:
                self._feeds.clear()
            self._feeds[key] = feed
            return feed


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _not_modified(scope: Scope, feed: Feed) -> bool:
    inm = _header(scope, b"if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return feed.etag in tags or "*" in tags
    ims = _header(scope, b"if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        modified = feed.last_modified.replace(tzinfo=UTC, microsecond=0)
        return since is not None and since.tzinfo is not None and modified <= since
    return False


class FeedFastPath:
    """ASGI middleware answering `GET|HEAD /shows/{slug}/feed.xml` from the feed cache."""

    def __init__(self, app: ASGIApp, gateway: Any) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        match = FEED_PATH.match(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        state = self.gateway.state
        base = _base_url(scope, state.settings.public_url)
        try:
            feed = await state.feed_cache.get(state.db.connection, base, match.group(1))
        except AetherError as exc:  # a database outage: 503 with Retry-After, as the routes answer
            await aether_error_response(exc)(scope, receive, send)
            return
        except DATABASE_ERRORS:
            await aether_error_response(DatabaseUnavailable("the database is unavailable; try again shortly"))(
                scope, receive, send
            )
            return
        if feed is None:
            response = error_response(404, "not_found", f"no show {match.group(1)}", "slug")
            await response(scope, receive, send)
            return
        headers = [
            (b"etag", feed.etag.encode()),
            (b"last-modified", rfc2822(feed.last_modified).encode()),
            (b"cache-control", b"public, max-age=60"),
            (b"vary", b"Accept-Encoding"),
        ]
        if _not_modified(scope, feed):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [(b"content-type", CONTENT_TYPE.encode()), (b"content-length", str(len(feed.body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else feed.body})


def _base_url(scope: Scope, public_url: str | None) -> str:
    if public_url:
        return public_url.rstrip("/")
    host = _header(scope, b"host")
    if host is None:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"
