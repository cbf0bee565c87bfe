"""SCA, the Snippet Craft Agent: for each chosen topic a headline and a 2-4 sentence summary with sources.

Task `sca.snippets` (agent "sca"):

    payload  {"topics": [{"id": uuid, ...}, ...]}  or  {"topic_ids": [uuid, ...]}
    result   {"snippets": [{"id", "topic_id", "headline", "summary", "language", "writer", "model",
                            "keywords": [str],
                            "sources": [{"url", "title", "published_at", "text_hash"}],
                            "facts": [{"text", "source_url", "source_title", "order": [doc, sentence]}]}]}

The summary is extractive by default: LexRank over every sentence of the topic's sources, the best
2-4 (by how much material there is) that do not repeat each other, in reading order. With an LLM
configured (AETHER_SCA_SUMMARIZER=llm, or auto and AETHER_LLM_BASE_URL set) the model writes the
headline and summary from those sentences. Either way `facts` holds the ranked source sentences,
verbatim, each with the URL it came from: the script writers build on them.

A snippet is stored once per topic content (`content_hash`): asking again for an unchanged topic
returns the stored snippet, so retried tasks create no duplicates.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from aether.agents.sca.rank import lexrank, tfidf_matrix
from aether.agents.tda.publication import publication_name
from aether.config import Settings
from aether.db.pool import Database
from aether.db.queries import load_queries
from aether.errors import InvalidReply, LLMError, NotFound, PermanentError, ValidationFailed
from aether.providers.llm import LLMClient
from aether.queue.tasks import Blueprint, TaskContext
from aether.security.credentials import with_stored_secrets
from aether.text import content_tokens, count_words, sentence_key, split_sentences, text_hash

log = logging.getLogger(__name__)
Q = load_queries(__file__, "snippets.sql")

MIN_WORDS = 5
MAX_WORDS = 60
MAX_FACTS = 80
REDUNDANT = 0.6
HEADLINE_CHARS = 140
PROMPT_VERSION = "sca-1"
_TERMINAL = re.compile(r"[.!?][\"'”’)\]]*$")


tasks = Blueprint()


@dataclass(frozen=True)
class Fact:
    text: str
    source_url: str | None
    source_title: str | None
    doc: int
    position: int
    score: float = 0.0
    publication: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "source_url": self.source_url,
            "source_title": self.source_title,
            "publication": self.publication,
            "order": [self.doc, self.position],
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class Document:
    url: str | None
    title: str
    text: str
    publication: str | None = None


def candidate_sentences(documents: Sequence[Document]) -> list[Fact]:
    """Every sentence that can stand alone as a fact, once (the first source that has it wins)."""
    seen: set[str] = set()
    found: list[Fact] = []
    for doc_index, doc in enumerate(documents):
        for position, sentence in enumerate(split_sentences(doc.text)):
            words = count_words(sentence)
            if not MIN_WORDS <= words <= MAX_WORDS or not _TERMINAL.search(sentence):
                continue
            if sentence[0].islower() or sentence.endswith("?"):
                continue
            key = sentence_key(sentence)
            if key in seen:
                continue
            seen.add(key)
            found.append(Fact(sentence, doc.url, doc.title, doc_index, position, publication=doc.publication))
    return found


def rank_facts(candidates: list[Fact]) -> list[Fact]:
    """Candidates by LexRank centrality (a slight lead bias breaks near ties), best first."""
    if not candidates:
        return []
    tokens = [content_tokens(f.text) for f in candidates]
    scores = lexrank(tokens)
    ranked = [
        replace(f, score=float(s) * (1 + 0.05 / (1 + f.position))) for f, s in zip(candidates, scores, strict=True)
    ]
    return sorted(ranked, key=lambda f: (-f.score, f.doc, f.position))


def choose_summary(ranked: list[Fact]) -> list[Fact]:
    """2-4 of the best facts that do not repeat each other, in reading order."""
    if not ranked:
        return []
    wanted = 4 if len(ranked) >= 12 else 3 if len(ranked) >= 6 else 2
    vectors = tfidf_matrix([content_tokens(f.text) for f in ranked])
    chosen: list[int] = []
    for i in range(len(ranked)):
        if all(float(vectors[i] @ vectors[j]) < REDUNDANT for j in chosen):
            chosen.append(i)
        if len(chosen) == wanted:
            break
    return sorted((ranked[i] for i in chosen), key=lambda f: (f.doc, f.position))


def headline_of(title: str) -> str:
    title = " ".join(title.split())
    if len(title) <= HEADLINE_CHARS:
        return title
    cut = title[:HEADLINE_CHARS].rsplit(" ", 1)[0]
    return f"{cut}…"


class LLMSnippet(BaseModel):
    headline: str = Field(min_length=3, max_length=200)
    summary: str = Field(min_length=20, max_length=1500)


def _validate_llm_snippet(value: Any) -> LLMSnippet:
    snippet = LLMSnippet.model_validate(value)
    sentences = split_sentences(snippet.summary)
    if not 2 <= len(sentences) <= 4:
        raise InvalidReply(f"summary must have 2 to 4 sentences, it has {len(sentences)}")
    return snippet


async def _llm_snippet(llm: LLMClient, title: str, facts: list[Fact], language: str | None) -> tuple[LLMSnippet, str]:
    material = "\n".join(f"- {f.text}" for f in facts[:25])
    messages = [
        {
            "role": "system",
            "content": (
                "You write short news snippets for a podcast. Use only the facts in the sentences given; "
                "never add facts. Reply with one JSON object: "
                '{"headline": "...", "summary": "..."} where summary has 2 to 4 sentences.'
            ),
        },
        {
            "role": "user",
            "content": f"Language: {language or 'en'}\nTopic: {title}\nSource sentences:\n{material}",
        },
    ]
    result = await llm.chat_json(
        messages, name="snippet", schema=LLMSnippet.model_json_schema(), validate=_validate_llm_snippet
    )
    return result.value, result.model


def _publication(listed: dict[str, Any], item: dict[str, Any]) -> str | None:
    """The name to credit a document to: as discovery named it, else from its feed and address."""
    if listed.get("publication"):
        return str(listed["publication"])
    return publication_name(item.get("feed_title"), item.get("publication"), item.get("url"))


def parse_topic_ids(payload: dict[str, Any]) -> list[str]:
    """Topic ids from {"topic_ids": [...]} or {"topics": [{"id": ...}, ...]} (validated UUIDs)."""
    if "topic_ids" in payload:
        raw, field = payload["topic_ids"], "topic_ids"
        if not isinstance(raw, list):
            raise ValidationFailed("topic_ids must be a list of topic ids", field=field)
        ids = list(raw)
    elif "topics" in payload:
        raw, field = payload["topics"], "topics"
        if not isinstance(raw, list):
            raise ValidationFailed("topics must be a list of topics", field=field)
        ids = []
        for i, topic in enumerate(raw):
            if not isinstance(topic, dict) or "id" not in topic:
                raise ValidationFailed(f"topics[{i}] must be an object with an id", field=f"topics[{i}].id")
            ids.append(topic["id"])
    else:
        raise ValidationFailed("give topic_ids or topics", field="topic_ids")
    if not ids:
        raise ValidationFailed(f"{field} must name at least one topic", field=field)
    if len(ids) > 50:
        raise ValidationFailed(f"{field} may name at most 50 topics", field=field)
    checked: list[str] = []
    for i, value in enumerate(ids):
        try:
            checked.append(str(uuid.UUID(str(value))))
        except ValueError:
            raise ValidationFailed(f"{field}[{i}] is not a topic id (a UUID)", field=f"{field}[{i}]") from None
    return list(dict.fromkeys(checked))


def snippet_to_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "topic_id": str(row["topic_id"]),
        "headline": row["title"],
        "summary": row.get("summary") or "",
        "language": row.get("language"),
        "keywords": list(row.get("keywords") or []),
        "sources": list(row.get("sources") or []),
        "facts": list(row.get("facts") or []),
        "writer": "llm" if row.get("llm_model_used") else "extractive",
        "model": row.get("llm_model_used"),
    }


def summarizer(settings: Settings) -> str:
    if settings.sca_summarizer == "auto":
        return "llm" if settings.llm_base_url else "extractive"
    return settings.sca_summarizer


async def make_snippets(
    db: Database,
    settings: Settings,
    topic_ids: Sequence[str],
    *,
    workflow_id: str | None = None,
    llm: LLMClient | None = None,
) -> list[dict[str, Any]]:
    """One snippet per topic (stored, or the stored one when the topic has not changed), in the given order."""
    rows = {str(r["id"]): dict(r) for r in await db.fetch_all(Q.topics_by_id, {"ids": list(topic_ids)})}
    missing = [t for t in topic_ids if t not in rows]
    if missing:
        raise NotFound(f"no topic with id {missing[0]}", field="topic_ids")
    mode = summarizer(settings)
    own_llm = llm is None and mode == "llm"
    if own_llm:
        llm = LLMClient.from_settings(await with_stored_secrets(db, settings))
    try:
        return [await _snippet(db, settings, rows[t], mode, llm, workflow_id) for t in topic_ids]
    finally:
        if own_llm and llm is not None:
            await llm.aclose()


async def _snippet(
    db: Database,
    settings: Settings,
    topic: dict[str, Any],
    mode: str,
    llm: LLMClient | None,
    workflow_id: str | None,
) -> dict[str, Any]:
    model = settings.llm_model if mode == "llm" else None
    content_hash = text_hash(f"{topic['content_hash'] or topic['id']}|{mode}|{model or ''}|{PROMPT_VERSION}")
    stored = await db.fetch_one(Q.snippet_for_topic, {"topic_id": topic["id"], "content_hash": content_hash})
    if stored is not None:
        return snippet_to_dict(dict(stored))

    listed = {s["url"]: s for s in topic.get("sources") or [] if isinstance(s, dict) and s.get("url")}
    documents = [
        Document(r["url"], r["title"], r["text"], _publication(listed.get(r["url"], {}), r))
        for r in await db.fetch_all(Q.topic_documents, {"urls": list(listed)})
    ]
    if topic["origin"] == "manual" and topic.get("content"):
        documents.insert(0, Document(None, "manual input", topic["content"]))
    elif not documents and topic.get("content"):
        first = (topic.get("sources") or [{}])[0]
        documents.append(Document(first.get("url"), first.get("title") or topic["title"], topic["content"]))
    ranked = rank_facts(candidate_sentences(documents))
    headline = headline_of(topic["title"])
    summary = " ".join(f.text for f in choose_summary(ranked))
    used_model: str | None = None
    if mode == "llm" and llm is not None and ranked:
        try:
            written, used_model = await _llm_snippet(llm, topic["title"], ranked, topic.get("language"))
            headline, summary = headline_of(written.headline), written.summary
        except LLMError as exc:
            log.warning("LLM snippet for topic %s failed, using the extractive summary: %s", topic["id"], exc)
            used_model = None
    if used_model is None and mode == "llm":
        content_hash = text_hash(f"{topic['content_hash'] or topic['id']}|extractive||{PROMPT_VERSION}")

    published = topic.get("published_at")
    sources = [
        {k: s.get(k) for k in ("url", "title", "publication", "published_at", "text_hash")}
        for s in topic.get("sources") or []
    ]
    params = {
        "topic_id": topic["id"],
        "title": headline,
        "summary": summary,
        "keywords": Jsonb(list(topic.get("keywords") or [])),
        "sources": Jsonb(sources),
        "facts": Jsonb([f.as_dict() for f in ranked[:MAX_FACTS]]),
        "content_hash": content_hash,
        "score": topic.get("relevance_score"),
        "language": topic.get("language"),
        "model": used_model,
        "workflow_id": workflow_id,
        "published_at": published.replace(tzinfo=UTC) if published else None,
        "source_ids": list(topic.get("source_ids") or []),
    }
    async with db.transaction() as conn:
        await conn.execute(Q.snippet_lock, {"topic_id": str(topic["id"])})
        cur = await conn.execute(Q.snippet_for_topic, {"topic_id": topic["id"], "content_hash": content_hash})
        row = await cur.fetchone()
        if row is None:
            cur = await conn.execute(Q.snippet_insert, params)
            row = await cur.fetchone()
    assert row is not None
    return snippet_to_dict(dict(row))


@tasks.task("sca.snippets", agent="sca")
async def snippets_task(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        topic_ids = parse_topic_ids(payload)
        snippets = await make_snippets(ctx.db, ctx.settings, topic_ids, workflow_id=ctx.workflow_id)
    except (ValidationFailed, NotFound) as exc:
        raise PermanentError(str(exc)) from exc
    return {"snippets": snippets}
