"""TDA for one episode: the stories of the show's own sources that are about the episode's topic.

Task `tda.gather` (agent "tda"), the `discover` step of an episode:

    payload  {"topic": str,                     # what the episode is about (free text)
              "sources": [url, ...],            # the show's sources (feeds, or article pages)
              "urls": [url, ...]?,              # sources given with this episode
              "minutes": number?,               # the length asked (default 5)
              "topic_ids": [uuid, ...]?}        # topics picked in advance: used exactly (no fetching)
    result   {"topics": [{"id", "title", "summary", "score", "sources": [...], ...}],   # best first
              "material": {"words", "minutes", "asked_minutes"},
              "relevance": [{"url", "title", "publication", "score", "matched", "chosen"}],
              "sources": [{"url", "status", "error", "http_status", "items", "new_items"}]}

Only these sources are read, never another show's: each source is fetched fresh (conditional GET; a
304 keeps the stories stored from before), a feed gives its entries and a page that is not a feed is
read as one article. Every story of these sources is scored for relevance to the topic
(aether.text.relevance); those under the floor are left out, however fresh, and freshness only orders
the rest. The relevant stories get their full article text, stories told by several sources are merged,
and the best are taken until their text can fill the minutes asked (every relevant story when it
cannot). Each becomes a topic in `topics_snippets` scoped to the sources it came from (`source_ids`).

When nothing fits, the task fails with one reason naming the topic and what was tried: no source
answered (`sources_failed`), or no story matches (`no_matching_story`).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from aether.agents.tda import topics as tda_topics
from aether.agents.tda.discover import (
    CpuRunner,
    SourceOutcome,
    check_url,
    default_cpu,
    extract_text,
    html_title,
    item_params,
    parse_body,
    record_sources,
    topic_to_dict,
)
from aether.agents.tda.discover import (
    Q as DISCOVER_Q,
)
from aether.agents.tda.feeds import FeedItem
from aether.agents.tda.fetch import ARTICLE_ACCEPT, Fetcher, FetchResult
from aether.agents.tda.publication import publication_name, site_name
from aether.config import Settings
from aether.db.pool import AsyncConnection, Database
from aether.db.queries import load_queries
from aether.errors import (
    FeedError,
    NoMatchingStory,
    NoSources,
    NotFound,
    PermanentError,
    SourcesFailed,
    ValidationFailed,
)
from aether.queue.tasks import Blueprint, TaskContext
from aether.text import count_words, normalize_space, split_sentences, text_hash
from aether.text.relevance import RELEVANCE_FLOOR, Document, score_documents

log = logging.getLogger(__name__)
Q = load_queries(__file__, "gather.sql")

tasks = Blueprint()

CANDIDATES = 400  # the newest stories of the sources that are scored
MATERIAL_FACTOR = 1.6  # source words per script word: a script reads a part of each story's sentences
MAX_TEXT = 100_000
TOPIC_CONTENT_CHARS = 20_000
REPORTED = 20  # stories listed in the result's relevance report
FRESH_WEIGHT = 0.2  # how much freshness moves a relevant story up the order


@dataclass
class Story:
    """A story of the sources: an item, or several items that tell the same story."""

    items: list[dict[str, Any]]
    score: float
    matched: tuple[str, ...]

    @property
    def lead(self) -> dict[str, Any]:
        return self.items[0]

    @property
    def words(self) -> int:
        return max(count_words(i["text"]) for i in self.items)


@dataclass
class Gathered:
    topics: list[dict[str, Any]]
    words: int
    asked_minutes: float
    words_per_minute: int
    relevance: list[dict[str, Any]]
    sources: list[SourceOutcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "topics": self.topics,
            "material": {
                "words": self.words,
                "minutes": round(self.words / MATERIAL_FACTOR / self.words_per_minute, 1),
                "asked_minutes": self.asked_minutes,
            },
            "relevance": self.relevance,
            "sources": [s.as_dict() for s in self.sources],
        }


def _urls(payload: dict[str, Any], key: str) -> list[str]:
    raw = payload.get(key) or []
    if not isinstance(raw, list):
        raise ValidationFailed(f"{key} must be a list of URLs", field=key)
    return [check_url(u, f"{key}[{i}]") for i, u in enumerate(raw)]


def _minutes(payload: dict[str, Any]) -> float:
    minutes = payload.get("minutes", 5)
    if not isinstance(minutes, int | float) or isinstance(minutes, bool) or not 0.5 <= float(minutes) <= 180:
        raise ValidationFailed("minutes must be a number from 0.5 to 180", field="minutes")
    return float(minutes)


def _describe_sources(count: int) -> str:
    return "this show's source" if count == 1 else f"this show's {count} sources"


async def gather(
    db: Database,
    settings: Settings,
    topic: str,
    *,
    sources: Sequence[str],
    urls: Sequence[str] = (),
    minutes: float = 5.0,
    workflow_id: str | None = None,
    fetcher: Fetcher | None = None,
    cpu: CpuRunner | None = None,
    now: datetime | None = None,
) -> Gathered:
    """The stories of `sources` and `urls` that are about `topic`, stored as scoped topics, best first."""
    topic = normalize_space(topic)
    if len(topic) < 3:
        raise ValidationFailed("topic must say what the episode is about (3 characters or more)", field="topic")
    wanted = list(dict.fromkeys([*sources, *urls]))
    if not wanted:
        raise NoSources("the show has no sources and none were given with the episode; add a source to the show")
    run_cpu: CpuRunner = cpu or default_cpu
    now = now or datetime.now(UTC)
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher(settings)
    try:
        rows = await _register(db, wanted)
        fetched = await asyncio.gather(
            *(fetcher.fetch(r["url"], etag=r["etag"], last_modified=r["last_modified"]) for r in rows)
        )
        outcomes, fresh = await _read_all(rows, fetched, settings, run_cpu)
        async with db.transaction() as conn:
            for source_id, item in fresh:
                await conn.execute(DISCOVER_Q.item_upsert, item_params(item, source_id, item.text_hash, None))
            for row in rows:
                if row.get("kind_seen") and row["kind_seen"] != row["kind"]:
                    await conn.execute(Q.source_set_kind, {"id": row["id"], "kind": row["kind_seen"]})
            await record_sources(conn, rows, fetched, outcomes)
        ids = [r["id"] for r in rows]
        candidates = [dict(r) for r in await db.fetch_all(Q.items_of_sources, {"ids": ids, "limit": CANDIDATES})]
        failed = [o for o in outcomes.values() if o.status == "error"]
        if not candidates:
            if failed and len(failed) == len(rows):
                reasons = "; ".join(f"{o.url}: {o.error}" for o in failed[:3])
                raise SourcesFailed(
                    f"no material for {topic!r}: none of {_describe_sources(len(rows))} answered ({reasons})"
                )
            raise NoMatchingStory(
                f"no story in {_describe_sources(len(rows))} matches {topic!r}: the sources have no stories yet; "
                "add a source or pass sources with the episode"
            )
        stories = await _relevant_stories(topic, candidates, now, settings, run_cpu)
        if not stories:
            tried = f"{len(candidates)} stories in {_describe_sources(len(rows))}"
            broken = f" ({len(failed)} of them did not answer)" if failed else ""
            raise NoMatchingStory(
                f"no story in {_describe_sources(len(rows))} matches {topic!r} ({tried} read{broken}); "
                "add a source or pass sources with the episode"
            )
        await _full_articles(db, fetcher, stories, run_cpu)
    finally:
        if own_fetcher:
            await fetcher.aclose()

    budget = minutes * settings.script_words_per_minute * MATERIAL_FACTOR
    chosen: list[Story] = []
    total = 0
    for story in stories:
        if total >= budget:
            break
        chosen.append(story)
        total += story.words
    async with db.transaction() as conn:
        topic_ids = [await _store_topic(conn, story, workflow_id, now) for story in chosen]
        cur = await conn.execute(DISCOVER_Q.topics_by_id, {"ids": topic_ids})
        stored = {str(r["id"]): dict(r) for r in await cur.fetchall()}
    chosen_urls = {i["url"] for s in chosen for i in s.items}
    report = [
        {
            "url": s.lead["url"],
            "title": s.lead["title"],
            "publication": _publication(s.lead),
            "score": s.score,
            "matched": list(s.matched),
            "chosen": s.lead["url"] in chosen_urls,
        }
        for s in stories[:REPORTED]
    ]
    return Gathered(
        topics=[topic_to_dict(stored[t]) | {"relevance": s.score} for t, s in zip(topic_ids, chosen, strict=True)],
        words=total,
        asked_minutes=minutes,
        words_per_minute=settings.script_words_per_minute,
        relevance=report,
        sources=list(outcomes.values()),
    )


async def _register(db: Database, urls: list[str]) -> list[dict[str, Any]]:
    """The sources rows of `urls` (created disabled when new: they belong to shows, not to the global list)."""
    async with db.transaction() as conn:
        for url in urls:
            await conn.execute(DISCOVER_Q.source_add_adhoc, {"url": url})
        cur = await conn.execute(DISCOVER_Q.sources_by_url, {"urls": urls})
        by_url = {r["url"]: dict(r) for r in await cur.fetchall()}
    return [by_url[u] for u in urls if u in by_url]


async def _read_all(
    rows: list[dict[str, Any]], fetched: Sequence[FetchResult], settings: Settings, run_cpu: CpuRunner
) -> tuple[dict[int, SourceOutcome], list[tuple[int, FeedItem]]]:
    """Each answer as a feed, or else as one article page; the items to store."""
    outcomes: dict[int, SourceOutcome] = {}
    items: list[tuple[int, FeedItem]] = []
    for row, result in zip(rows, fetched, strict=True):
        outcome = SourceOutcome(url=row["url"], status=result.status, http_status=result.http_status)
        outcomes[row["id"]] = outcome
        if result.status == "error":
            outcome.error = result.error
            continue
        if result.status == "not_modified":
            continue
        try:
            parsed = await run_cpu(
                parse_body, result.body, result.content_type, result.final_url, settings.tda_max_items_per_feed
            )
        except FeedError as exc:
            article = await _article_item(result, run_cpu)
            if article is None:
                outcome.status, outcome.error = "error", f"{exc}, and no article text was found in it"
                continue
            row["kind_seen"] = "article"
            row["parsed_title"] = article.publication
            outcome.items = outcome.new_items = 1
            items.append((row["id"], article))
            continue
        row["kind_seen"] = "feed"
        row["parsed_title"] = parsed.title
        outcome.items = len(parsed.items)
        outcome.new_items = len(parsed.items)
        items.extend((row["id"], item) for item in parsed.items)
    return outcomes, items


async def _article_item(result: FetchResult, run_cpu: CpuRunner) -> FeedItem | None:
    text = await run_cpu(extract_text, result.body, result.final_url)
    if not text:
        return None
    title = html_title(result.body) or normalize_space(text)[:120]
    item = FeedItem(url=result.url, title=title, text=text[:MAX_TEXT], publication=site_name(result.body))
    item.text_origin = "article"
    return item


def _freshness(item: dict[str, Any], now: datetime, half_life_hours: float) -> float:
    when = item.get("published_at") or item.get("first_seen_at")
    if when is None:
        return 0.0
    age_h = max(0.0, (now - when.replace(tzinfo=UTC)).total_seconds() / 3600)
    return math.pow(0.5, age_h / half_life_hours)


async def _relevant_stories(
    topic: str, candidates: list[dict[str, Any]], now: datetime, settings: Settings, run_cpu: CpuRunner
) -> list[Story]:
    """The candidates over the relevance floor, merged into stories, best first."""
    scored = await run_cpu(score_documents, topic, [Document(c["title"], c["text"]) for c in candidates])
    relevant = [(c, s) for c, s in zip(candidates, scored, strict=True) if s.score >= RELEVANCE_FLOOR]
    if not relevant:
        return []
    prints = [tda_topics.fingerprint(c["title"], c["text"]) for c, _ in relevant]
    groups: list[list[int]] = await run_cpu(tda_topics.cluster, prints)
    stories: list[Story] = []
    for group in groups:
        members = sorted((relevant[i] for i in group), key=lambda cs: (-cs[1].score, cs[0]["id"]))
        best = members[0][1]
        stories.append(Story([c for c, _ in members], best.score, best.matched))
    half_life = settings.tda_freshness_half_life_hours

    def order(story: Story) -> tuple[float, str]:
        fresh = max(_freshness(i, now, half_life) for i in story.items)
        return (-(story.score * (1 - FRESH_WEIGHT + FRESH_WEIGHT * fresh)), story.lead["url"])

    return sorted(stories, key=order)


async def _full_articles(db: Database, fetcher: Fetcher, stories: list[Story], run_cpu: CpuRunner) -> None:
    """The article pages of relevant stories that only have a feed summary (stored for next time)."""
    short = [i for s in stories for i in s.items if i["text_origin"] == "feed" and count_words(i["text"]) < 150]

    async def one(item: dict[str, Any]) -> None:
        result = await fetcher.fetch(item["url"], accept=ARTICLE_ACCEPT)
        if not result.ok:
            log.info("article %s not fetched: %s", item["url"], result.error)
            return
        text = await run_cpu(extract_text, result.body, result.final_url)
        if not text or len(text) <= len(item["text"]):
            return
        item["text"] = text[:MAX_TEXT]
        item["text_origin"] = "article"
        item["publication"] = item.get("publication") or site_name(result.body)
        await db.execute(
            Q.item_set_article,
            {
                "id": item["id"],
                "text": item["text"],
                "text_hash": text_hash(item["text"]),
                "publication": item["publication"],
            },
        )

    await asyncio.gather(*(one(i) for i in short))


def _publication(item: dict[str, Any]) -> str | None:
    feed_title = item.get("feed_title") if item.get("source_kind") != "article" else None
    return publication_name(feed_title, item.get("publication"), item["url"])


async def _store_topic(conn: AsyncConnection, story: Story, workflow_id: str | None, now: datetime) -> str:
    lead = story.lead
    sentences = split_sentences(lead["text"])
    sources = [
        {
            "url": i["url"],
            "title": i["title"],
            "feed": i["source_url"] if i.get("source_kind") != "article" else None,
            "feed_title": i.get("feed_title"),
            "publication": _publication(i),
            "published_at": i["published_at"].replace(tzinfo=UTC).isoformat() if i.get("published_at") else None,
            "text_hash": i["text_hash"],
        }
        for i in story.items
    ]
    published = max((i["published_at"] for i in story.items if i.get("published_at")), default=None)
    content_hash = text_hash("\n".join(sorted(i["text_hash"] for i in story.items)))
    source_ids = sorted({i["source_id"] for i in story.items})
    cur = await conn.execute(Q.topic_same_story, {"content_hash": content_hash, "source_ids": source_ids})
    same = await cur.fetchone()
    if same is not None:  # the same stories told again: the same topic (its snippet and script are reused)
        return str(same["id"])
    cur = await conn.execute(
        DISCOVER_Q.topic_insert,
        {
            "title": lead["title"][:300],
            "summary": " ".join(sentences[:2])[:600],
            "content": lead["text"][:TOPIC_CONTENT_CHARS],
            "keywords": Jsonb([[t, 1.0] for t in story.matched]),
            "sources": Jsonb(sources),
            "origin": "feed",
            "content_hash": content_hash,
            "score": story.score,
            "language": lead.get("language"),
            "workflow_id": workflow_id,
            "published_at": published,
            "source_ids": source_ids,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    return str(row["id"])


@tasks.task("tda.gather", agent="tda")
async def gather_task(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        topic = payload.get("topic")
        if not isinstance(topic, str):
            raise ValidationFailed("topic must be the text of what the episode is about", field="topic")
        async with Fetcher(ctx.settings) as fetcher:
            result = await gather(
                ctx.db,
                ctx.settings,
                topic,
                sources=_urls(payload, "sources"),
                urls=_urls(payload, "urls"),
                minutes=_minutes(payload),
                workflow_id=ctx.workflow_id,
                fetcher=fetcher,
                cpu=ctx.run_cpu,
            )
    except (ValidationFailed, NotFound) as exc:
        raise PermanentError(exc.message, field=exc.field) from exc
    return result.as_dict()
