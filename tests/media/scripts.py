"""Small scripts in PSWA's JSON shape for the media tests (short, so synthesis stays quick)."""

from __future__ import annotations

from typing import Any


def short_script(title: str = "Small models, big changes") -> dict[str, Any]:
    return {
        "show_title": "Aether Test Show",
        "episode_title": title,
        "description": "Two hosts on why small language models matter.",
        "language": "en",
        "hosts": [
            {"name": "Alex", "persona": "curious lead host"},
            {"name": "Sam", "persona": "analytical co-host"},
        ],
        "segments": [
            {
                "kind": "intro",
                "title": "Welcome",
                "lines": [
                    {"speaker": "Alex", "text": "Welcome to the show."},
                    {"speaker": "Sam", "text": "Glad to be here, Alex."},
                ],
            },
            {
                "kind": "topic",
                "title": "Small models",
                "topic_id": "t1",
                "lines": [
                    {"speaker": "Alex", "text": "Why do small models matter?", "sources": ["https://example.org/a"]},
                    {"speaker": "Sam", "text": "They run on a laptop, and they are cheap!"},
                ],
            },
            {
                "kind": "outro",
                "title": "Goodbye",
                "lines": [
                    {"speaker": "Alex", "text": "That's all for today. Bye!"},
                ],
            },
        ],
        "sources": [{"url": "https://example.org/a", "title": "A"}],
    }
