"""The config model of the `vfa` agent (voice): voice, speed, loudness, formats (distinct), sample rate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from aether.agents.config import AgentConfig

AudioFormat = Literal["mp3", "opus"]


class VfaConfig(AgentConfig):
    voice: str | None = Field(None, min_length=1, max_length=200)
    length_scale: float = Field(1.0, ge=0.5, le=2.0)
    loudness_lufs: float = Field(-16.0, ge=-30, le=-10)
    formats: list[AudioFormat] = Field(default_factory=lambda: list[AudioFormat](["mp3"]), min_length=1, max_length=2)
    sample_rate: int | None = Field(None, ge=8000, le=96000)

    @field_validator("formats")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("formats must not repeat")
        return value
