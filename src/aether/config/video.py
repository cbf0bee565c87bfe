"""Video (the video agent): frame rate, x264 preset and quality, and the length of the vertical clip."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aether.config.base import Section


class VideoSettings(Section):
    heading = "Video"

    video_fps: int = Field(6, ge=1, le=60, description="Frame rate of rendered videos.")
    video_preset: Literal[
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"
    ] = Field("ultrafast", description="x264 preset of rendered videos (slower = smaller files).")
    video_crf: int = Field(27, ge=0, le=51, description="x264 constant rate factor (lower = better, larger).")
    video_clip_max_s: float = Field(60.0, ge=5, le=180, description="Longest vertical clip in seconds.")
