"""TDA, the Topic Discovery Agent: feeds and manual input in, ranked topics in `topics_snippets` out.

Task `tda.discover` (agent "tda"):

    payload  {"feeds": [url, ...]?,            # default: every enabled source
              "manual_topics": [{"title": str, "text": str?, "urls": [url]?}]?,
              "limit": int?}                   # topics returned, 1..100, default 5
    result   {"topics": [{"id", "title", "summary", "keywords": [str], "score", "origin", "published_at",
                          "sources": [{"url", "title", "feed", "published_at", "text_hash"}]}],
              "sources": [{"url", "status": "ok"|"not_modified"|"error", "error", "http_status",
                           "items", "new_items"}]}

`topics` holds the topics this run created or grew (best first), topped up with the best recent topics
up to `limit`, so a retried task (whose feeds now answer 304) still hands the next step something.

A run fetches everything first and writes once, in one transaction (source states, items, topics), so a
crash leaves the database as it was and a rerun redoes the work. Broken sources are recorded in
`sources.last_error` and never stop the others.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from psycopg.types.json import Jsonb

from aether.agents.tda import topics as tda_topics
from aether.agents.tda.feeds import FeedItem, ParsedFeed, extract_article, parse_feed
from aether.agents.tda.fetch import ARTICLE_ACCEPT, Fetcher, FetchResult
from aether.config import Settings
from aether.db.pool import AsyncConnection, Database
from aether.db.queries import load_queries
from aether.errors import FeedError, NotFound, PermanentError, ValidationFailed
from aether.providers import netguard
from aether.queue.tasks import Blueprint, TaskContext
from aether.text import content_tokens, html_to_text, normalize_space, split_sentences, text_hash

log = logging.getLogger(__name__)
Q = load_queries(__file__, "discover.sql")
T = TypeVar("T")
CpuRunner = Callable[..., Awaitable[Any]]

MAX_TITLE = 300
MAX_TEXT = 100_000
TOPIC_CONTENT_CHARS = 20_000

tasks = Blueprint()


# ---- input ---------------------------------------------------------------------------------------


# a host name (letters of any script, digits, hyphens, dots), an IPv4 address or a bracketed IPv6 one
_HOST = re.compile(r"[\w.-]+|[0-9a-f:.]+", re.IGNORECASE)


def check_url(url: object, field: str) -> str:
    """An absolute http(s) URL, or ValidationFailed naming the field."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed(f"{field} must be a non-empty URL", field=field)
    value = url.strip()
    rule = f"{field} must be an http:// or https:// URL with a host, without spaces (got {value!r})"
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValidationFailed(rule, field=field)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        raise ValidationFailed(rule, field=field) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not _HOST.fullmatch(parts.hostname):
        raise ValidationFailed(rule, field=field)
    if len(value) > 2048:
        raise ValidationFailed(f"{field} must be at most 2048 characters", field=field)
    return value


@dataclass(frozen=True)
class ManualTopic:
    title: str
    text: str | None = None
    urls: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: object, field: str = "manual_topics[0]") -> ManualTopic:
        if isinstance(raw, str):
            raw = {"title": raw}
        if not isinstance(raw, dict):
            raise ValidationFailed(f"{field} must be an object with a title", field=field)
        title = raw.get("title")
        if not isinstance(title, str) or not normalize_space(title):
            raise ValidationFailed(f"{field}.title must be a non-empty string", field=f"{field}.title")
        if len(normalize_space(title)) > MAX_TITLE:
            raise ValidationFailed(f"{field}.title must be at most {MAX_TITLE} characters", field=f"{field}.title")
        text = raw.get("text")
        if text is not None and not isinstance(text, str):
            raise ValidationFailed(f"{field}.text must be a string", field=f"{field}.text")
        if text is not None and len(text) > MAX_TEXT:
            raise ValidationFailed(f"{field}.text must be at most {MAX_TEXT} characters", field=f"{field}.text")
        urls = raw.get("urls") or []
        if not isinstance(urls, list):
            raise ValidationFailed(f"{field}.urls must be a list of URLs", field=f"{field}.urls")
        checked = tuple(check_url(u, f"{field}.urls[{i}]") for i, u in enumerate(urls))
        return cls(normalize_space(title), text.strip() if text and text.strip() else None, checked)


@dataclass(frozen=True)
class DiscoverRequest:
    feeds: tuple[str, ...] | None = None
    manual_topics: tuple[ManualTopic, ...] = ()
    limit: int = 5

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> DiscoverRequest:
        feeds = payload.get("feeds")
        if feeds is not None and not isinstance(feeds, list):
            raise ValidationFailed("feeds must be a list of feed URLs", field="feeds")
        checked = tuple(check_url(u, f"feeds[{i}]") for i, u in enumerate(feeds)) if feeds else None
        manual = payload.get("manual_topics") or []
        if not isinstance(manual, list):
            raise ValidationFailed("manual_topics must be a list", field="manual_topics")
        topics = tuple(ManualTopic.parse(m, f"manual_topics[{i}]") for i, m in enumerate(manual))
        limit = payload.get("limit", 5)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
            raise ValidationFailed("limit must be an integer from 1 to 100", field="limit")
        return cls(checked, topics, limit)


# ---- results -------------------------------------------------------------------------------------


@dataclass
class SourceOutcome:
    url: str
    status: str
    error: str | None = None
    http_status: int | None = None
    items: int = 0
    new_items: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "error": self.error,
            "http_status": self.http_status,
            "items": self.items,
            "new_items": self.new_items,
        }


@dataclass
class Discovery:
    topics: list[dict[str, Any]]
    sources: list[SourceOutcome]

    def as_dict(self) -> dict[str, Any]:
        return {"topics": self.topics, "sources": [s.as_dict() for s in self.sources]}


def topic_to_dict(row: dict[str, Any]) -> dict[str, Any]:
    """A topics_snippets topic row as the JSON the handlers and the CLI hand on."""
    published = row.get("published_at")
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "summary": row.get("summary") or "",
        "keywords": list(row.get("keywords") or []),
        "sources": list(row.get("sources") or []),
        "score": float(row["relevance_score"]) if row.get("relevance_score") is not None else None,
        "origin": row.get("origin"),
        "language": row.get("language"),
        "published_at": published.replace(tzinfo=UTC).isoformat() if published else None,
    }


# ---- the work ------------------------------------------------------------------------------------


@dataclass
class _Pending:
    """An item to store and the topic it joins (resolved when the topic row exists)."""

    item: FeedItem
    source_id: int | None
    feed_hash: str
    topic_key: str = ""


@dataclass
class _TopicPlan:
    key: str
    topic_id: str | None
    origin: str = "feed"
    items: list[dict[str, Any]] = field(default_factory=list)
    manual_text: str | None = None
    title: str | None = None


async def default_cpu(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


async def discover(
    db: Database,
    settings: Settings,
    *,
    feeds: Sequence[str] | None = None,
    manual_topics: Sequence[ManualTopic] = (),
    limit: int = 5,
    workflow_id: str | None = None,
    fetcher: Fetcher | None = None,
    cpu: CpuRunner | None = None,
    now: datetime | None = None,
) -> Discovery:
    """Fetch the feeds (given ones, else every enabled source), merge items into topics, store, rank."""
    run_cpu: CpuRunner = cpu or default_cpu
    now = now or datetime.now(UTC)
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher(settings)
    try:
        sources = await _sources_for_run(db, feeds)
        if not sources and not manual_topics:
            raise ValidationFailed(
                "no feed sources: add one with `aether sources add URL` or pass feeds", field="feeds"
            )
        fetched = await asyncio.gather(
            *(fetcher.fetch(s["url"], etag=s["etag"], last_modified=s["last_modified"]) for s in sources)
        )
        outcomes, items = await _parse_all(sources, fetched, settings, run_cpu)
        pending = await _fresh_items(db, items, outcomes)
        await _fetch_articles(fetcher, [p for p in pending if p.item.summary_only], settings, run_cpu)
        for p in pending:
            p.item.keywords = await run_cpu(
                tda_topics.extract_keywords, f"{p.item.title}. {p.item.text}", p.item.language
            )
        manual_items = await _manual_items(fetcher, manual_topics, run_cpu)
    finally:
        if own_fetcher:
            await fetcher.aclose()

    async with db.transaction() as conn:
        await conn.execute(Q.discover_lock)
        pending = await _still_new(conn, pending)
        touched = await _merge_and_store(
            conn, settings, pending, manual_items, now=now, workflow_id=workflow_id, run_cpu=run_cpu
        )
        await record_sources(conn, sources, fetched, outcomes)
        best = await _ranked(conn, touched, limit, settings)
    return Discovery(topics=best, sources=list(outcomes.values()))


async def _sources_for_run(db: Database, feeds: Sequence[str] | None) -> list[dict[str, Any]]:
    if feeds:
        urls = list(dict.fromkeys(check_url(u, f"feeds[{i}]") for i, u in enumerate(feeds)))
        async with db.transaction() as conn:
            for url in urls:
                await conn.execute(Q.source_add_adhoc, {"url": url})
            rows = await (await conn.execute(Q.sources_by_url, {"urls": urls})).fetchall()
        by_url = {r["url"]: dict(r) for r in rows}
        return [by_url[u] for u in urls if u in by_url]
    return [dict(r) for r in await db.fetch_all(Q.sources_enabled)]


async def _parse_all(
    sources: list[dict[str, Any]], fetched: Sequence[FetchResult], settings: Settings, run_cpu: CpuRunner
) -> tuple[dict[int, SourceOutcome], list[tuple[int, FeedItem]]]:
    outcomes: dict[int, SourceOutcome] = {}
    items: list[tuple[int, FeedItem]] = []
    for source, result in zip(sources, fetched, strict=True):
        outcome = SourceOutcome(url=source["url"], status=result.status, http_status=result.http_status)
        outcomes[source["id"]] = outcome
        if result.status == "error":
            outcome.error = result.error
            log.warning("feed %s failed: %s", source["url"], result.error)
            continue
        if result.status == "not_modified":
            continue
        try:
            parsed: ParsedFeed = await run_cpu(
                parse_body, result.body, result.content_type, result.final_url, settings.tda_max_items_per_feed
            )
        except FeedError as exc:
            outcome.status, outcome.error = "error", str(exc)
            log.warning("feed %s is broken: %s", source["url"], exc)
            continue
        source["parsed_title"] = parsed.title
        outcome.items = len(parsed.items)
        items.extend((source["id"], item) for item in parsed.items)
    return outcomes, items


def parse_body(body: bytes, content_type: str, url: str, max_items: int) -> ParsedFeed:
    return parse_feed(body, content_type=content_type, url=url, max_items=max_items)


async def _fresh_items(
    db: Database, items: list[tuple[int, FeedItem]], outcomes: dict[int, SourceOutcome]
) -> list[_Pending]:
    """Items not stored yet, or whose text changed since (one per URL, first feed wins)."""
    unique: dict[str, tuple[int, FeedItem]] = {}
    for source_id, item in items:
        unique.setdefault(item.url, (source_id, item))
    known = {r["url"]: r for r in await db.fetch_all(Q.items_by_url, {"urls": list(unique)})}
    pending: list[_Pending] = []
    for url, (source_id, item) in unique.items():
        feed_hash = item.text_hash
        row = known.get(url)
        if row is not None and row["text_hash"] == feed_hash:
            continue
        outcomes[source_id].new_items += 1
        pending.append(_Pending(item=item, source_id=source_id, feed_hash=feed_hash))
    return pending


async def _fetch_articles(fetcher: Fetcher, pending: list[_Pending], settings: Settings, run_cpu: CpuRunner) -> None:
    if not settings.tda_fetch_articles or not pending:
        return

    async def one(p: _Pending) -> None:
        result = await fetcher.fetch(p.item.url, accept=ARTICLE_ACCEPT)
        if not result.ok:
            log.info("article %s not fetched: %s", p.item.url, result.error)
            return
        text = await run_cpu(extract_text, result.body, result.final_url)
        if text and len(text) > len(p.item.text):
            p.item.text = text[:MAX_TEXT]
            p.item.text_origin = "article"

    await asyncio.gather(*(one(p) for p in pending))


def extract_text(body: bytes, url: str) -> str | None:
    return extract_article(body, url=url)


async def _manual_items(
    fetcher: Fetcher, manual_topics: Sequence[ManualTopic], run_cpu: CpuRunner
) -> list[tuple[ManualTopic, list[FeedItem], list[str]]]:
    """Per manual topic: the articles fetched from its URLs, and the URLs that failed (with reasons)."""
    planned: list[tuple[ManualTopic, list[FeedItem], list[str]]] = []
    for topic in manual_topics:
        results = await asyncio.gather(*(fetcher.fetch(u, accept=ARTICLE_ACCEPT) for u in topic.urls))
        articles: list[FeedItem] = []
        failures: list[str] = []
        for url, result in zip(topic.urls, results, strict=True):
            text = await run_cpu(extract_text, result.body, result.final_url) if result.ok else None
            if not text:
                failures.append(f"{url}: {result.error or 'no article text found'}")
                continue
            item = FeedItem(url=url, title=html_title(result.body) or topic.title, text=text[:MAX_TEXT])
            item.text_origin = "article"
            item.keywords = await run_cpu(tda_topics.extract_keywords, f"{item.title}. {item.text}", None)
            articles.append(item)
        planned.append((topic, articles, failures))
    return planned


def html_title(body: bytes) -> str | None:
    match = re.search(rb"<title[^>]*>(.*?)</title>", body[:65536], re.IGNORECASE | re.DOTALL)
    if not match:
        return None

    return normalize_space(html_to_text(match.group(1).decode("utf-8", "replace")))[:MAX_TITLE] or None


async def _still_new(conn: AsyncConnection, pending: list[_Pending]) -> list[_Pending]:
    """Under the discovery lock: drop items another run stored meanwhile (same URL and text)."""
    if not pending:
        return pending
    cur = await conn.execute(Q.items_by_url, {"urls": [p.item.url for p in pending]})
    stored = {r["url"]: r["text_hash"] for r in await cur.fetchall()}
    return [p for p in pending if stored.get(p.item.url) != p.feed_hash]


def _item_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored feed_items row in the shape the topic builder uses."""
    return {
        "url": row["url"],
        "title": row["title"],
        "text": row["text"],
        "text_hash": row["text_hash"],
        "keywords": [tuple(k) for k in row.get("keywords") or []],
        "language": row.get("language"),
        "published_at": row["published_at"].replace(tzinfo=UTC) if row.get("published_at") else None,
        "seen_at": row["first_seen_at"].replace(tzinfo=UTC) if row.get("first_seen_at") else None,
        "feed": row.get("feed_url"),
        "feed_title": row.get("feed_title"),
        "source_id": row.get("source_id"),
    }


def _pending_row(p: _Pending, now: datetime) -> dict[str, Any]:
    item = p.item
    return {
        "url": item.url,
        "title": item.title,
        "text": item.text,
        "text_hash": p.feed_hash,
        "keywords": item.keywords,
        "language": item.language,
        "published_at": item.published_at,
        "seen_at": now,
        "feed": item.source_url,
        "feed_title": item.source_title,
        "source_id": p.source_id,
    }


async def _merge_and_store(
    conn: AsyncConnection,
    settings: Settings,
    pending: list[_Pending],
    manual: list[tuple[ManualTopic, list[FeedItem], list[str]]],
    *,
    now: datetime,
    workflow_id: str | None,
    run_cpu: CpuRunner,
) -> list[str]:
    """Cluster new items with recent topics' items, write topics and items; the touched topic ids."""
    cur = await conn.execute(Q.anchor_items, {"window_days": settings.tda_merge_window_days})
    anchors = [dict(r) for r in await cur.fetchall()]
    pending_urls = {p.item.url for p in pending}
    anchors = [a for a in anchors if a["url"] not in pending_urls]
    # A changed item that already belongs to a topic stays in it.
    cur = await conn.execute(Q.items_by_url, {"urls": list(pending_urls)})
    prior_topic = {r["url"]: str(r["topic_id"]) for r in await cur.fetchall() if r["topic_id"] is not None}

    texts = [(a["title"], a["text"]) for a in anchors] + [(p.item.title, p.item.text) for p in pending]
    prints = [tda_topics.fingerprint(title, text) for title, text in texts]
    groups: list[list[int]] = await run_cpu(tda_topics.cluster, prints)

    plans: dict[str, _TopicPlan] = {}
    for group in groups:
        members_new = [pending[i - len(anchors)] for i in group if i >= len(anchors)]
        if not members_new:
            continue
        votes = Counter(str(anchors[i]["topic_id"]) for i in group if i < len(anchors))
        votes.update(prior_topic[p.item.url] for p in members_new if p.item.url in prior_topic)
        topic_id = votes.most_common(1)[0][0] if votes else None
        key = topic_id or f"new:{group[0]}"
        plan = plans.setdefault(key, _TopicPlan(key=key, topic_id=topic_id))
        for p in members_new:
            p.topic_key = key
            plan.items.append(_pending_row(p, now))

    existing_ids = [plan.topic_id for plan in plans.values() if plan.topic_id]
    if existing_ids:
        cur = await conn.execute(Q.topic_items, {"topic_ids": existing_ids})
        new_urls = {p.item.url for p in pending}
        for row in await cur.fetchall():
            if row["url"] not in new_urls:
                plans[str(row["topic_id"])].items.append(_item_row(dict(row)))

    for index, (topic, articles, _failures) in enumerate(manual):
        key = f"manual:{index}"
        plan = _TopicPlan(key=key, topic_id=None, origin="manual", manual_text=topic.text, title=topic.title)
        plan.items = [
            {
                "url": a.url,
                "title": a.title,
                "text": a.text,
                "text_hash": a.text_hash,
                "keywords": a.keywords,
                "language": None,
                "published_at": None,
                "seen_at": now,
                "feed": None,
                "feed_title": None,
                "source_id": None,
            }
            for a in articles
        ]
        plans[key] = plan

    corpus = [f"{t}\n{x}".lower() for t, x in texts]
    corpus += [f"{a.title}\n{a.text}".lower() for (_topic, articles, _failures) in manual for a in articles]
    ids: dict[str, str] = {}
    for key, plan in plans.items():
        fields = await _topic_fields(plan, settings, now, corpus, run_cpu)
        if plan.topic_id:
            await conn.execute(Q.topic_update, {**fields, "id": plan.topic_id})
            ids[key] = plan.topic_id
        else:
            cur = await conn.execute(Q.topic_insert, {**fields, "origin": plan.origin, "workflow_id": workflow_id})
            created = await cur.fetchone()
            assert created is not None
            ids[key] = str(created["id"])

    for p in pending:
        await conn.execute(Q.item_upsert, item_params(p.item, p.source_id, p.feed_hash, ids[p.topic_key]))
    for index, (_topic, articles, _failures) in enumerate(manual):
        for article in articles:
            await conn.execute(Q.item_upsert, item_params(article, None, article.text_hash, ids[f"manual:{index}"]))
    return list(dict.fromkeys(ids.values()))


def item_params(item: FeedItem, source_id: int | None, feed_hash: str, topic_id: str | None) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "topic_id": topic_id,
        "url": item.url,
        "guid": item.guid,
        "title": item.title,
        "text": item.text,
        "text_hash": feed_hash,
        "text_origin": item.text_origin,
        "keywords": Jsonb([[k, w] for k, w in item.keywords]),
        "language": item.language,
        "published_at": item.published_at,
        "publication": item.publication,
    }


async def _topic_fields(
    plan: _TopicPlan, settings: Settings, now: datetime, corpus: list[str], run_cpu: CpuRunner
) -> dict[str, Any]:
    items = sorted(plan.items, key=lambda i: (i["published_at"] or i["seen_at"] or now, i["url"]))
    lead = _central(items) if items else None
    title = plan.title or (lead["title"] if lead else "untitled")
    body = plan.manual_text or (lead["text"] if lead else "") or ""
    if plan.manual_text and lead:
        body = f"{plan.manual_text}\n\n{lead['text']}"
    sentences = split_sentences(body)
    summary = " ".join(sentences[:2])[:600] if sentences else ""
    keyword_sets = [i["keywords"] for i in items]
    if plan.manual_text:
        keyword_sets.append(await run_cpu(tda_topics.extract_keywords, f"{title}. {plan.manual_text}", None))
    elif not items:
        keyword_sets.append(await run_cpu(tda_topics.extract_keywords, title, None))
    keywords = tda_topics.merge_keywords(keyword_sets)
    newest = max((i["published_at"] or i["seen_at"] or now for i in items), default=now)
    feeds = {i["source_id"] if i["source_id"] is not None else i["url"] for i in items} or {"manual"}
    rank = tda_topics.score(
        tda_topics.RankInput(newest=min(newest, now), feeds=len(feeds), keywords=keywords),
        now=now,
        half_life_hours=settings.tda_freshness_half_life_hours,
        corpus=corpus,
    )
    languages = Counter(i["language"] for i in items if i["language"])
    sources = [
        {
            "url": i["url"],
            "title": i["title"],
            "feed": i["feed"],
            "feed_title": i["feed_title"],
            "published_at": i["published_at"].isoformat() if i["published_at"] else None,
            "text_hash": i["text_hash"],
        }
        for i in items
    ]
    hashes = sorted(i["text_hash"] for i in items)
    if plan.manual_text:
        hashes.append(text_hash(plan.manual_text))
    return {
        "title": title[:MAX_TITLE],
        "summary": summary,
        "content": body[:TOPIC_CONTENT_CHARS],
        "keywords": Jsonb(keywords),
        "sources": Jsonb(sources),
        "content_hash": text_hash("\n".join(hashes) or title),
        "score": rank,
        "language": languages.most_common(1)[0][0] if languages else None,
        "published_at": newest if items else None,
        "source_ids": sorted({i["source_id"] for i in items if i["source_id"] is not None}),
    }


def _central(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The item whose title shares the most words with the others' (the earliest on a tie)."""
    if len(items) <= 2:
        return items[0]

    tokens = [set(content_tokens(i["title"])) for i in items]
    best = max(range(len(items)), key=lambda k: (sum(len(tokens[k] & t) for t in tokens), -k))
    return items[best]


async def record_sources(
    conn: AsyncConnection,
    sources: list[dict[str, Any]],
    fetched: Sequence[FetchResult],
    outcomes: dict[int, SourceOutcome],
) -> None:
    for source, result in zip(sources, fetched, strict=True):
        outcome = outcomes[source["id"]]
        if outcome.status == "error":
            await conn.execute(
                Q.source_record_error,
                {"id": source["id"], "http_status": result.http_status, "error": outcome.error},
            )
        elif outcome.status == "not_modified":
            await conn.execute(
                Q.source_record_not_modified,
                {
                    "id": source["id"],
                    "etag": result.etag,
                    "last_modified": result.last_modified,
                    "http_status": result.http_status,
                },
            )
        else:
            await conn.execute(
                Q.source_record_ok,
                {
                    "id": source["id"],
                    "title": source.get("parsed_title"),
                    "final_url": result.final_url if result.final_url != source["url"] else None,
                    "etag": result.etag,
                    "last_modified": result.last_modified,
                    "http_status": result.http_status,
                    "warning": None,
                    "item_count": outcome.items,
                },
            )


async def _ranked(conn: AsyncConnection, touched: list[str], limit: int, settings: Settings) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if touched:
        cur = await conn.execute(Q.topics_by_id, {"ids": touched})
        rows = sorted(
            (dict(r) for r in await cur.fetchall()),
            key=lambda r: (-(r["relevance_score"] or 0.0), str(r["id"])),
        )
    manual_first = [r for r in rows if r["origin"] == "manual"] + [r for r in rows if r["origin"] != "manual"]
    chosen = manual_first[: max(limit, len([r for r in rows if r["origin"] == "manual"]))]
    if len(chosen) < limit:
        cur = await conn.execute(
            Q.topics_recent, {"window_days": settings.tda_merge_window_days, "limit": limit + len(chosen)}
        )
        seen = {str(r["id"]) for r in chosen}
        for row in await cur.fetchall():
            if len(chosen) >= limit:
                break
            if str(row["id"]) not in seen:
                chosen.append(dict(row))
    return [topic_to_dict(r) for r in chosen]


# ---- sources and topics for the CLI and the API ---------------------------------------------------


async def add_source(db: Database, url: str, title: str | None = None) -> tuple[dict[str, Any], bool]:
    """Add (or re-enable) a feed source; returns (row, inserted)."""
    checked = check_url(url, "url")
    await netguard.check_url(checked, field="url", allow_private=db.settings.fetch_allow_private)
    row = await db.fetch_one(Q.source_add, {"url": checked, "title": title})
    assert row is not None
    return dict(row), bool(row["inserted"])


async def list_sources(db: Database) -> list[dict[str, Any]]:
    return [dict(r) for r in await db.fetch_all(Q.source_list, readonly=True)]


async def remove_source(db: Database, url: str) -> None:
    checked = check_url(url, "url")
    async with db.transaction() as conn:
        row = await (await conn.execute(Q.source_remove, {"url": checked})).fetchone()
    if row is None:
        raise NotFound(f"no source with url {checked!r}", field="url")


async def list_topics(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    if not 1 <= limit <= 1000:
        raise ValidationFailed("limit must be from 1 to 1000", field="limit")
    rows = await db.fetch_all(Q.topics_list, {"limit": limit}, readonly=True)
    return [{**topic_to_dict(dict(r)), "snippets": int(r["snippet_count"])} for r in rows]


async def get_topics(db: Database, ids: Iterable[str]) -> list[dict[str, Any]]:
    wanted = [str(i) for i in ids]
    rows = await db.fetch_all(Q.topics_by_id, {"ids": wanted})
    by_id = {str(r["id"]): dict(r) for r in rows}
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise NotFound(f"no topic with id {missing[0]}", field="topic_ids")
    return [by_id[i] for i in wanted]


async def find_topic(db: Database, title: str) -> dict[str, Any] | None:
    """The topic with this exact title (case-insensitive), else the best full-text match."""
    row = await db.fetch_one(Q.topic_by_title, {"title": normalize_space(title)})
    if row is None:
        row = await db.fetch_one(Q.topic_search, {"query": title})
    return dict(row) if row else None


async def add_manual_topics(
    db: Database,
    settings: Settings,
    topics: Sequence[ManualTopic],
    *,
    fetcher: Fetcher | None = None,
    workflow_id: str | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Store manual topics (their URLs fetched as articles); returns (topic dicts, URL failures)."""
    own = fetcher is None
    fetcher = fetcher or Fetcher(settings)
    try:
        planned = await _manual_items(fetcher, topics, default_cpu)
    finally:
        if own:
            await fetcher.aclose()
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        await conn.execute(Q.discover_lock)
        ids = await _merge_and_store(conn, settings, [], planned, now=now, workflow_id=workflow_id, run_cpu=default_cpu)
        cur = await conn.execute(Q.topics_by_id, {"ids": ids})
        rows = {str(r["id"]): dict(r) for r in await cur.fetchall()}
    failures = [f for (_t, _a, fails) in planned for f in fails]
    return [topic_to_dict(rows[i]) for i in ids], failures


# ---- the task handler -----------------------------------------------------------------------------


@tasks.task("tda.discover", agent="tda")
async def discover_task(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        request = DiscoverRequest.parse(payload)
        async with Fetcher(ctx.settings) as fetcher:
            result = await discover(
                ctx.db,
                ctx.settings,
                feeds=request.feeds,
                manual_topics=request.manual_topics,
                limit=request.limit,
                workflow_id=ctx.workflow_id,
                fetcher=fetcher,
                cpu=ctx.run_cpu,
            )
    except (ValidationFailed, NotFound) as exc:
        raise PermanentError(str(exc)) from exc
    return result.as_dict()
