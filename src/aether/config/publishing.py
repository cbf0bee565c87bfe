"""Publishing to platforms (the youtube and telegram agents, WebSub): API endpoints, timeouts, retries."""

from __future__ import annotations

from pydantic import Field

from aether.config.base import Section


class PublishingSettings(Section):
    heading = "Publishing"

    telegram_api_url: str = Field("https://api.telegram.org", description="Telegram Bot API base URL.")
    youtube_api_url: str = Field(
        "https://www.googleapis.com/youtube/v3", description="YouTube Data API v3 base URL (thumbnails, videos)."
    )
    youtube_upload_url: str = Field(
        "https://www.googleapis.com/upload/youtube/v3", description="YouTube Data API v3 media upload base URL."
    )
    google_token_url: str = Field(
        "https://oauth2.googleapis.com/token", description="Google OAuth 2.0 token endpoint (refresh grant)."
    )
    websub_hub_url: str | None = Field(None, description="WebSub hub pinged when a show's feed changes; unset = off.")
    publish_timeout_s: float = Field(60.0, gt=0, le=3600, description="Seconds per HTTP request to a platform.")
    publish_max_retries: int = Field(5, ge=0, le=50, description="Retries of a platform call (429, 5xx, network).")
    youtube_chunk_bytes: int = Field(
        8 * 1024 * 1024,
        ge=256 * 1024,
        multiple_of=256 * 1024,
        description="YouTube resumable upload chunk size (a multiple of 256 KiB).",
    )
