"""Figures for the content agents' CPU work: story clustering, LexRank, the offline script writer.

Run: .venv/bin/python -P bench/content_agents.py  (-P: bench/queue.py must not shadow the queue module)
"""

from __future__ import annotations

import random
import time

from aether.agents.pswa import offline as pswa_offline
from aether.agents.pswa.script import ScriptRequest
from aether.agents.sca import snippets as sca
from aether.agents.tda import topics as tda_topics
from aether.config import load_settings

WORDS = [f"w{i}" for i in range(3000)]


def story(rng: random.Random, seed: int) -> tuple[str, str]:
    base = random.Random(seed)
    title = " ".join(base.choice(WORDS) for _ in range(8))
    body = " ".join(base.choice(WORDS) for _ in range(120))
    words = body.split()
    for _ in range(10):  # each retelling changes a few words
        words[rng.randrange(len(words))] = rng.choice(WORDS)
    return title, " ".join(words)


def timed(label: str, fn: object, *args: object) -> object:
    start = time.perf_counter()
    result = fn(*args)  # type: ignore[operator]
    print(f"{label}: {time.perf_counter() - start:.3f} s")
    return result


def main() -> None:
    rng = random.Random(7)
    items = [story(rng, rng.randrange(1000)) for _ in range(3000)]  # 3000 items about ~1000 stories
    prints = timed("fingerprint 3000 items", lambda: [tda_topics.fingerprint(t, b) for t, b in items])
    groups = timed("cluster 3000 items", tda_topics.cluster, prints)
    print(f"  -> {len(groups)} topics")  # type: ignore[arg-type]

    sentences = [f"Sentence {i} mentions {' '.join(rng.choice(WORDS[:300]) for _ in range(12))}." for i in range(500)]
    docs = [
        sca.Document(f"https://news.example/{i}", "t", " ".join(sentences[i * 50 : (i + 1) * 50])) for i in range(10)
    ]
    ranked = timed("LexRank over 500 sentences", lambda: sca.rank_facts(sca.candidate_sentences(docs)))

    facts = [{"text": f.text, "source_url": f.source_url, "order": [f.doc, f.position]} for f in ranked]  # type: ignore[attr-defined]
    snippets = [{"headline": f"Story {i}", "facts": facts[i * 50 : (i + 1) * 50]} for i in range(10)]
    request = ScriptRequest.parse({"snippets": snippets, "minutes": 30}, load_settings())
    script = timed("offline script, 10 topics, 30 minutes", pswa_offline.write_offline, request)
    print(f"  -> {script.word_count} words of {script.target_words}")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
