"""From items to topics: keywords (yake), near-duplicate merging, ranking.

Two items tell the same story when one of these holds (exact set comparisons):

* their titles share at least half of their words (Jaccard ≥ 0.5 over content words, three or more shared);
* one text largely repeats the other (overlap coefficient ≥ 0.5 over word 3-shingles, eight or more shared:
  syndicated copies, a summary and its article);
* their leads (title and first 60 words) share 40 % of their content words (Jaccard ≥ 0.4).

Candidate pairs come from MinHash-LSH over the leads and from shared uncommon title words (see
`candidate_pairs`), so the work stays near-linear in the number of items.

Ranking: `score = 0.5·freshness + 0.3·sources + 0.2·keyword weight`, each in [0, 1]:
freshness halves every `half_life` hours since the newest item; sources is log2(1 + distinct feeds) / log2(5),
capped at 1; keyword weight is the share of all items in the run that mention one of the topic's top three
keywords (how widely the story is being told).
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from aether.text import content_tokens, shingles

TITLE_JACCARD = 0.5
TITLE_MIN_SHARED = 3
TEXT_OVERLAP = 0.5
TEXT_MIN_SHARED = 8
LEAD_JACCARD = 0.4
LEAD_WORDS = 60
HASHES = 64
BANDS, ROWS = 32, 2
BUCKET_CAP, BUCKET_LINKS = 64, 4
_PRIME = np.uint64((1 << 61) - 1)
_rng = np.random.default_rng(0x7DA)
_A = _rng.integers(1, 1 << 29, size=HASHES, dtype=np.uint64)
_B = _rng.integers(0, 1 << 29, size=HASHES, dtype=np.uint64)


def extract_keywords(text: str, language: str | None, *, top: int = 8) -> list[tuple[str, float]]:
    """yake keywords, best first, as (phrase, weight in (0, 1]) where higher is more relevant."""
    import yake

    if not text.strip():
        return []
    lan = (language or "en")[:2]
    try:
        extractor = yake.KeywordExtractor(lan=lan, n=2, top=top, dedup_lim=0.8)
        found = extractor.extract_keywords(text)
    except Exception:  # yake has no stop words for some languages and fails on odd input
        extractor = yake.KeywordExtractor(lan="en", n=2, top=top, dedup_lim=0.8)
        found = extractor.extract_keywords(text)
    return [(str(phrase), round(1.0 / (1.0 + float(score) * 10), 4)) for phrase, score in found]


@dataclass
class Fingerprint:
    title: set[str]
    lead: set[str]
    body: set[str]


def fingerprint(title: str, text: str) -> Fingerprint:
    text_tokens = content_tokens(text)
    title_tokens = content_tokens(title)
    return Fingerprint(
        title=set(title_tokens),
        lead=set(title_tokens) | set(text_tokens[:LEAD_WORDS]),
        body=shingles(title_tokens + text_tokens, 3),
    )


def same_story(a: Fingerprint, b: Fingerprint) -> bool:
    shared_title = len(a.title & b.title)
    if shared_title >= TITLE_MIN_SHARED and shared_title / max(1, len(a.title | b.title)) >= TITLE_JACCARD:
        return True
    shared_body = len(a.body & b.body)
    if shared_body >= TEXT_MIN_SHARED and shared_body / max(1, min(len(a.body), len(b.body))) >= TEXT_OVERLAP:
        return True
    shared_lead = len(a.lead & b.lead)
    return shared_lead >= TITLE_MIN_SHARED and shared_lead / max(1, len(a.lead | b.lead)) >= LEAD_JACCARD


def minhash(tokens: set[str]) -> NDArray[np.uint64]:
    """MinHash signature (HASHES values) of a token set; equal leads give equal signatures."""
    if not tokens:
        return np.full(HASHES, _PRIME, dtype=np.uint64)
    values = np.fromiter((zlib.crc32(t.encode()) for t in tokens), dtype=np.uint64, count=len(tokens))
    signature: NDArray[np.uint64] = ((np.outer(values, _A) + _B) % _PRIME).min(axis=0)
    return signature


def candidate_pairs(prints: Sequence[Fingerprint]) -> set[tuple[int, int]]:
    """Pairs worth comparing: MinHash-LSH buckets over the leads (BANDS × ROWS; catches lead Jaccard from
    about 0.2 up), plus items sharing two or more title words that few other titles use."""
    pairs: set[tuple[int, int]] = set()

    def link(members: list[int]) -> None:
        if len(members) > BUCKET_CAP:  # near-identical copies: linking each to a few first ones is enough
            for i in members[BUCKET_LINKS:]:
                pairs.update((j, i) for j in members[:BUCKET_LINKS])
            members = members[:BUCKET_LINKS]
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pairs.add((members[x], members[y]))

    signatures = [minhash(fp.lead) for fp in prints]
    for band in range(BANDS):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for i, signature in enumerate(signatures):
            if prints[i].lead:
                buckets[signature[band * ROWS : (band + 1) * ROWS].tobytes()].append(i)
        for members in buckets.values():
            if len(members) > 1:
                link(members)

    titles: dict[str, list[int]] = defaultdict(list)
    for i, fp in enumerate(prints):
        for token in fp.title:
            titles[token].append(i)
    cap = max(16, int(2 * math.sqrt(len(prints))))  # words in many titles say nothing about the story
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for members in titles.values():
        if len(members) <= cap:
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    shared[(members[x], members[y])] += 1
    pairs.update(pair for pair, count in shared.items() if count >= 2)
    return pairs


def cluster(prints: Sequence[Fingerprint]) -> list[list[int]]:
    """Groups of indexes that tell the same story (transitively), each sorted, in order of first member."""
    parent = list(range(len(prints)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in sorted(candidate_pairs(prints)):
        if find(i) != find(j) and same_story(prints[i], prints[j]):
            parent[find(j)] = find(i)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(prints)):
        groups[find(i)].append(i)
    return sorted(groups.values(), key=lambda g: g[0])


@dataclass
class RankInput:
    newest: datetime
    feeds: int
    keywords: list[str] = field(default_factory=list)


def freshness(newest: datetime, now: datetime, half_life_hours: float) -> float:
    age_hours = max(0.0, (now - newest).total_seconds() / 3600)
    return float(0.5 ** (age_hours / half_life_hours))


def score(topic: RankInput, *, now: datetime, half_life_hours: float, corpus: Sequence[str]) -> float:
    """The topic's rank in [0, 1]; `corpus` holds the lower-cased text of every item in the run."""
    fresh = freshness(topic.newest, now, half_life_hours)
    sources = min(1.0, math.log2(1 + topic.feeds) / math.log2(5))
    top = [k.lower() for k in topic.keywords[:3] if k.strip()]
    mentions = sum(1 for text in corpus if any(k in text for k in top)) if top else 0
    weight = mentions / len(corpus) if corpus else 0.0
    return round(0.5 * fresh + 0.3 * sources + 0.2 * weight, 4)


def merge_keywords(weighted: Sequence[Sequence[tuple[str, float]]], *, top: int = 8) -> list[str]:
    """Keywords of a topic: each phrase's weights summed over its items, best first (case-insensitive)."""
    totals: dict[str, float] = defaultdict(float)
    shown: dict[str, str] = {}
    for keywords in weighted:
        for phrase, weight in keywords:
            key = phrase.lower()
            totals[key] += weight
            shown.setdefault(key, phrase)
    ordered = sorted(totals, key=lambda k: (-totals[k], k))
    return [shown[k] for k in ordered[:top]]
