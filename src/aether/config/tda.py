"""Topic discovery (the tda agent): how feeds and articles are fetched, and how stories are scored and merged."""

from __future__ import annotations

from pydantic import Field

from aether.config.base import Section


class TdaSettings(Section):
    heading = "Topic discovery (TDA)"

    tda_fetch_timeout: float = Field(
        15.0, gt=0, le=600, description="Seconds one feed or article fetch may take in all (connect to last byte)."
    )
    tda_max_bytes: int = Field(
        10_485_760, ge=1024, description="Largest feed or article body read (decoded bytes); larger ones are aborted."
    )
    tda_host_interval: float = Field(
        1.0, ge=0, le=600, description="Seconds between two requests to the same host (politeness)."
    )
    fetch_allow_private: bool = Field(
        False,
        description="Fetch sources and articles from loopback, private, link-local and reserved addresses too "
        "(off: such URLs are refused at validation and at every fetch and redirect; the demo never needs it).",
    )
    tda_concurrency: int = Field(8, ge=1, le=256, description="Feeds and articles fetched at the same time.")
    tda_max_items_per_feed: int = Field(50, ge=1, le=10_000, description="Newest entries read from each feed.")
    tda_fetch_articles: bool = Field(
        True, description="Fetch the article page when a feed entry carries only a short summary."
    )
    tda_user_agent: str = Field(
        "Aether/0.1 (+https://github.com/aether; topic discovery)", description="User-Agent of feed requests."
    )
    tda_freshness_half_life_hours: float = Field(
        24.0, gt=0, description="Age in hours at which a story's freshness score halves."
    )
    tda_merge_window_days: float = Field(
        3.0, ge=0, description="Stories up to this many days old are merged with new items about the same story."
    )
