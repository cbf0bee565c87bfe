"""Voice (the vfa agent): the voices of the hosts (Piper, or an OpenAI-compatible speech API), synthesis
threads, loudness and encodings.

AETHER_TTS_HOST_VOICES entries may only hold the known keys; pitch, tempo and formant lie between 0.5 and
2.0. AETHER_TTS_BASE_URL must be an http(s) URL; it is kept without a trailing slash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from aether.config.base import Section

# The two default hosts on the bundled voice, made as distinct as one speaker's model allows: the first a
# little lower, slower and darker; the second higher (its formants raised less than its pitch), quicker,
# steadier and brighter. Measured on four sentences: median pitch 85 vs 117 Hz, spectral centroid 407 vs
# 770 Hz (the bare voice: 91 Hz, 509 Hz); tests/providers/test_tts.py keeps them apart.
DEFAULT_HOST_VOICES: tuple[dict[str, Any], ...] = (
    {"pitch": 0.93, "tempo": 0.96, "tilt_db": -1.0},
    {"pitch": 1.32, "tempo": 1.05, "noise_scale": 0.55, "noise_w": 0.7, "formant": 0.92, "tilt_db": 1.5},
)


class VoiceSettings(Section):
    heading = "Voice (VFA)"

    tts_voice_model: Path | None = Field(
        None, description="Piper voice (.onnx, its .onnx.json beside it) for every host; unset = the bundled joe voice."
    )
    tts_host_voices: list[dict[str, Any]] = Field(
        default_factory=lambda: [dict(v) for v in DEFAULT_HOST_VOICES],
        description='Per-host voice settings by host order, JSON: [{"model": "/x.onnx", "pitch": 1.0, "tempo": 1.0, '
        '"noise_scale": 0.667, "noise_w": 0.8, "volume_db": 0, "formant": 1.0, "tilt_db": 0}, ...] (formant: '
        "the timbre's spectral shift, tilt_db: brightness in dB per octave around 1 kHz); hosts beyond the "
        "list reuse it cyclically.",
    )
    tts_engine: Literal["piper", "api"] = Field(
        "piper", description="Engine of a host whose show gives no voice: piper (offline) or api (AETHER_TTS_BASE_URL)."
    )
    tts_base_url: str | None = Field(
        None,
        description="OpenAI-compatible speech API base URL (POST {url}/audio/speech), e.g. http://127.0.0.1:8880/v1; "
        "unset = Piper only.",
    )
    tts_api_key: SecretStr | None = Field(None, description="Bearer token for the speech API (never logged).")
    tts_model: str = Field("tts-1", min_length=1, max_length=200, description="Model name sent to the speech API.")
    tts_api_voices: list[str] = Field(
        default_factory=lambda: ["alloy", "echo"],
        min_length=1,
        description="Speech API voice of each host (by host order, cyclic) whose show names none.",
    )
    tts_response_format: Literal["wav", "pcm"] = Field(
        "wav", description="Audio asked of the speech API: wav, or pcm (raw 16-bit mono at 24 kHz, as OpenAI's)."
    )
    tts_timeout: float = Field(60.0, gt=0, le=3600, description="Seconds one speech API request may take.")
    tts_max_retries: int = Field(3, ge=0, le=10, description="Speech API retries (with back-off) on 429/5xx/network.")
    tts_threads: int = Field(0, ge=0, le=256, description="Speech synthesis threads; 0 = one per CPU core.")
    audio_loudness_lufs: float = Field(-16.0, ge=-36, le=-6, description="Integrated loudness of the master (LUFS).")
    audio_true_peak_dbtp: float = Field(-1.0, ge=-12, le=0, description="Highest true peak of the encodings (dBTP).")
    audio_mp3_bitrate: int = Field(96, ge=32, le=320, description="MP3 bit rate in kbit/s (mono, 44.1 kHz).")
    audio_opus_bitrate: int = Field(48, ge=16, le=256, description="Ogg Opus bit rate in kbit/s.")

    @field_validator("tts_host_voices")
    @classmethod
    def _check_host_voices(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        known = {"model", "pitch", "tempo", "noise_scale", "noise_w", "volume_db", "formant", "tilt_db"}
        for index, voice in enumerate(value):
            if not isinstance(voice, dict):
                raise ValueError(f"entry {index} must be a JSON object")
            unknown = sorted(set(voice) - known)
            if unknown:
                raise ValueError(f"entry {index} has unknown keys {unknown} (known: {sorted(known)})")
            for key in ("pitch", "tempo", "formant"):
                if key in voice and not (isinstance(voice[key], int | float) and 0.5 <= float(voice[key]) <= 2.0):
                    raise ValueError(f"entry {index}: {key} must be a number from 0.5 to 2.0")
        return value

    @field_validator("tts_base_url")
    @classmethod
    def _check_tts_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:8880/v1")
        return value.strip().rstrip("/")

    @field_validator("tts_api_voices")
    @classmethod
    def _check_api_voices(cls, value: list[str]) -> list[str]:
        if any(not isinstance(v, str) or not v.strip() or len(v) > 100 for v in value):
            raise ValueError("each voice must be a name of 1 to 100 characters")
        return [v.strip() for v in value]
