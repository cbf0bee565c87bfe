"""Feed documents to items: RSS 0.9x/1.0/2.0 and Atom through feedparser; article pages through trafilatura."""

from __future__ import annotations

import calendar
import re
import xml.sax
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from aether.errors import FeedError
from aether.text import count_words, html_to_text, normalize_space, text_hash

# An entry whose text has fewer words than this is "summary only": its article page is fetched.
ARTICLE_MIN_WORDS = 120
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*(<!doctype\s+html|<html)", re.IGNORECASE | re.DOTALL)


@dataclass
class FeedItem:
    url: str
    title: str
    text: str
    guid: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    source_url: str | None = None
    source_title: str | None = None
    text_origin: str = "feed"
    keywords: list[tuple[str, float]] = field(default_factory=list)
    publication: str | None = None  # the article page's own name (og:site_name), when it gives one

    @property
    def summary_only(self) -> bool:
        return count_words(self.text) < ARTICLE_MIN_WORDS

    @property
    def text_hash(self) -> str:
        return text_hash(f"{self.title}\n{self.text}")


@dataclass
class ParsedFeed:
    title: str | None
    language: str | None
    format: str
    items: list[FeedItem]


def parse_feed(body: bytes, *, content_type: str, url: str, max_items: int) -> ParsedFeed:
    """Parse a feed document; raises FeedError naming why it is not a usable feed."""
    if not body.strip():
        raise FeedError("empty response body")
    parsed: Any = feedparser.parse(
        body, response_headers={"content-type": content_type or "application/xml", "content-location": url}
    )
    problem = parsed.get("bozo_exception")
    if not parsed.get("version"):
        if _HTML_START.match(body[:2048]) or content_type.lower().startswith(("text/html", "application/xhtml")):
            raise FeedError("not a feed: the response is an HTML page")
        detail = f": {_one_line(problem)}" if problem else ""
        raise FeedError(f"not a feed: no RSS or Atom document found{detail}")
    if isinstance(problem, xml.sax.SAXException):
        raise FeedError(f"malformed XML: {_one_line(problem)}")
    channel = parsed.get("feed", {})
    language = _language(channel.get("language"))
    title = normalize_space(html_to_text(channel.get("title", ""))) or None
    items: list[FeedItem] = []
    for entry in parsed.get("entries", [])[:max_items]:
        item = _item(entry, feed_url=url, feed_title=title, language=language)
        if item is not None:
            items.append(item)
    return ParsedFeed(title=title, language=language, format=str(parsed.get("version")), items=items)


def _item(entry: Any, *, feed_url: str, feed_title: str | None, language: str | None) -> FeedItem | None:
    link = entry.get("link") or ""
    guid = entry.get("id") or None
    if not link.startswith(("http://", "https://")) and guid and str(guid).startswith(("http://", "https://")):
        link = str(guid)
    if not link.startswith(("http://", "https://")):
        return None
    title = normalize_space(html_to_text(entry.get("title", "")))
    bodies = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
    raw = max(bodies, key=len) if bodies else entry.get("summary", "") or entry.get("description", "")
    text = html_to_text(raw)
    if not title and not text:
        return None
    if not title:
        title = normalize_space(text)[:120]
    stamp = entry.get("published_parsed") or entry.get("updated_parsed") or entry.get("created_parsed")
    published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
    return FeedItem(
        url=link,
        title=title,
        text=text,
        guid=str(guid) if guid else None,
        published_at=published,
        language=_language(entry.get("language")) or language,
        source_url=feed_url,
        source_title=feed_title,
    )


def extract_article(html: bytes, *, url: str) -> str | None:
    """The main text of an article page (paragraphs separated by blank lines), or None."""
    import trafilatura

    try:
        text = trafilatura.extract(
            html,
            url=url,
            include_comments=False,
            include_tables=False,
            favor_precision=True,
            deduplicate=False,
        )
    except Exception:  # trafilatura raises assorted parser errors on junk input
        return None
    if not text:
        return None
    paragraphs = [normalize_space(p) for p in text.splitlines()]
    return "\n\n".join(p for p in paragraphs if p) or None


def _language(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower().replace("_", "-")[:16]


def _one_line(exc: object) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
