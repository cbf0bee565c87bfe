"""Cover art (the iga agent): an OpenAI-compatible images API (unset = procedural art) and the font of drawn text.

AETHER_IMAGES_BASE_URL must be an http(s) URL; it is kept without a trailing slash.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from aether.config.base import Section, check_scheme


class ImagesSettings(Section):
    heading = "Cover art (IGA)"

    images_base_url: str | None = Field(
        None, description="OpenAI-compatible images API base URL (…/v1); unset = procedural cover art offline."
    )
    images_api_key: SecretStr | None = Field(None, description="Bearer token for the images API (never logged).")
    images_model: str = Field("gpt-image-1", min_length=1, description="Model name sent to the images API.")
    images_timeout: float = Field(120.0, gt=0, le=3600, description="Seconds one image generation request may take.")
    media_font: Path | None = Field(
        None, description="TrueType/OpenType font for covers and captions; unset = Pillow's bundled Aileron."
    )

    @field_validator("images_base_url")
    @classmethod
    def _check_images_url(cls, value: str | None) -> str | None:
        checked = check_scheme(value, ("http", "https"))
        return None if checked is None else checked.rstrip("/")
