"""Near-duplicate merging, keywords and ranking (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aether.agents.tda import topics

NOW = datetime(2025, 10, 6, 12, tzinfo=UTC)


def test_retold_stories_merge_and_different_ones_do_not() -> None:
    prints = [
        topics.fingerprint(
            "Harbor City council approves tidal energy plant",
            "The council voted seven to two to approve a tidal energy plant at the north breakwater.",
        ),
        topics.fingerprint(
            "Tidal energy plant approved by Harbor City council",
            "Harbor City council approved a tidal energy plant on Monday with twelve turbines.",
        ),
        topics.fingerprint(
            "Mars rover finds layered sediments from an ancient lake",
            "A Mars rover has found layered rocks that formed at the bottom of an ancient lake.",
        ),
        topics.fingerprint(
            "Science roundup",  # a different title, but a syndicated copy of the rover text
            "A Mars rover has found layered rocks that formed at the bottom of an ancient lake, scientists said.",
        ),
        topics.fingerprint("Teenage chess player wins national title", "Lina Moreau won the championship."),
    ]
    assert topics.cluster(prints) == [[0, 1], [2, 3], [4]]


def test_clustering_scales_to_many_unrelated_items() -> None:
    prints = [
        topics.fingerprint(f"Story number {i} about topic{i}", f"Unique words w{i}a w{i}b w{i}c w{i}d.")
        for i in range(2000)
    ]
    groups = topics.cluster(prints)
    assert len(groups) == 2000


def test_keywords_are_weighted_phrases_best_first() -> None:
    found = topics.extract_keywords(
        "Harbor City approves tidal energy plant. The tidal energy plant will have twelve turbines in Harbor City.",
        "en-us",
    )
    assert found and all(0 < weight <= 1 for _phrase, weight in found)
    assert any("tidal" in phrase.lower() for phrase, _ in found[:3])
    assert topics.extract_keywords("   ", None) == []
    merged = topics.merge_keywords([[("Tidal energy", 0.9), ("turbines", 0.2)], [("tidal energy", 0.8), ("fish", 0.5)]])
    assert merged == ["Tidal energy", "fish", "turbines"]


def test_score_rises_with_freshness_sources_and_keyword_weight() -> None:
    corpus = ["tidal energy news", "more tidal energy", "a chess game"]

    def rank(age_hours: float, feeds: int, keywords: list[str]) -> float:
        topic = topics.RankInput(newest=NOW - timedelta(hours=age_hours), feeds=feeds, keywords=keywords)
        return topics.score(topic, now=NOW, half_life_hours=24, corpus=corpus)

    assert rank(0, 1, ["chess"]) > rank(48, 1, ["chess"])
    assert rank(0, 3, ["chess"]) > rank(0, 1, ["chess"])
    assert rank(0, 1, ["tidal energy"]) > rank(0, 1, ["chess"])
    assert rank(0, 4, ["tidal energy", "news"]) <= 1.0
    assert topics.freshness(NOW - timedelta(hours=24), NOW, 24) == 0.5
