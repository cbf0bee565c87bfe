"""How well a text answers a topic someone asked for: a score in [0, 1].

The topic (free text, e.g. "Balcony solar panels and what they mean for renters") becomes its content
terms, stemmed ("panels" and "panel" meet, so do "charging" and "charge"). A document scores the
weighted share of those terms it contains: a term in its title counts fully, a term in its body counts
0.6 once and more with every further mention (full at three). A term that most documents of the corpus
share (in a corpus of five or more) weighs half, so a word every story uses cannot carry a match alone.

`RELEVANCE_FLOOR` is where a story stops being about the topic: below it, it is left out, however fresh.
A topic of three or more terms needs about a third of them; a topic of one or two terms needs one of
them in the title or said more than once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from aether.text.sentences import STOPWORDS, words

RELEVANCE_FLOOR = 0.35
# Words that say how a topic is asked, not what it is about ("... and what it means for renters").
ASKING_WORDS = frozenset(
    [
        "mean",
        "means",
        "meaning",
        "meant",
        "happen",
        "happens",
        "happening",
        "thing",
        "things",
        "way",
        "ways",
        "whether",
        "why",
        "how",
        "what",
        "about",
        "explain",
        "explained",
        "latest",
        "today",
        "todays",
        "update",
        "updates",
        "look",
        "looks",
    ]
)
BODY_WORDS = 600  # the lead of a long article decides what it is about
_SUFFIXES = (
    ("ational", "ate"),
    ("ization", "ize"),
    ("iveness", "ive"),
    ("fulness", "ful"),
    ("ousness", "ous"),
    ("ies", "y"),
    ("sses", "ss"),
    ("ing", ""),
    ("edly", ""),
    ("ed", ""),
    ("ly", ""),
    ("es", ""),
    ("s", ""),
)


def stem(word: str) -> str:
    """A light English stemmer: common inflections off, a final `e` off (so `charge` and `charging` meet)."""
    word = word.lower()
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith(("ss", "us", "is")):
            word = word[: -len(suffix)] + replacement
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The stemmed content terms of a text, in order (stop words left out)."""
    found: list[str] = []
    for word in words(text.lower()):
        if word.endswith(("'s", "’s")):
            word = word[:-2]
        if len(word) >= 2 and word not in STOPWORDS:
            found.append(stem(word))
    return found


@dataclass(frozen=True)
class Document:
    title: str
    text: str


@dataclass(frozen=True)
class Scored:
    score: float
    matched: tuple[str, ...]  # the topic's terms the document contains


def query_terms(topic: str) -> list[str]:
    """The terms a topic asks about: its content terms without the words that only frame the question."""
    asking = {stem(w) for w in ASKING_WORDS}
    return list(dict.fromkeys(t for t in terms(topic) if len(t) >= 2 and t not in asking))


def score_documents(topic: str, documents: Sequence[Document]) -> list[Scored]:
    """Each document's relevance to `topic`, in the documents' order."""
    wanted = query_terms(topic)
    if not wanted:
        return [Scored(0.0, ()) for _ in documents]
    title_sets: list[set[str]] = []
    body_counts: list[Counter[str]] = []
    for doc in documents:
        title_sets.append(set(terms(doc.title)))
        body_counts.append(Counter(terms(" ".join(doc.text.split()[:BODY_WORDS]))))
    n = len(documents)
    weight = {}
    for term in wanted:
        df = sum(1 for t, b in zip(title_sets, body_counts, strict=True) if term in t or term in b)
        weight[term] = 0.5 if n >= 5 and df / n > 0.6 else 1.0
    total = sum(weight.values())
    scored: list[Scored] = []
    for title, body in zip(title_sets, body_counts, strict=True):
        got = 0.0
        matched: list[str] = []
        for term in wanted:
            if term in title:
                match = 1.0
            elif body[term]:
                match = min(1.0, 0.6 + 0.2 * (body[term] - 1))
            else:
                continue
            matched.append(term)
            got += weight[term] * match
        scored.append(Scored(round(got / total, 4), tuple(matched)))
    return scored
