"""Voice (the vfa agent): the Piper voices of the hosts, synthesis threads, loudness and encodings.

AETHER_TTS_HOST_VOICES entries may only hold the known keys; pitch and tempo lie between 0.5 and 2.0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from aether.config.base import Section


class VoiceSettings(Section):
    heading = "Voice (VFA)"

    tts_voice_model: Path | None = Field(
        None, description="Piper voice (.onnx, its .onnx.json beside it) for every host; unset = the bundled joe voice."
    )
    tts_host_voices: list[dict[str, Any]] = Field(
        default_factory=lambda: [{}, {"pitch": 1.21, "tempo": 1.04, "noise_scale": 0.55, "noise_w": 0.7}],
        description='Per-host voice settings by host order, JSON: [{"model": "/x.onnx", "pitch": 1.0, "tempo": 1.0, '
        '"noise_scale": 0.667, "noise_w": 0.8, "volume_db": 0}, ...]; hosts beyond the list reuse it cyclically.',
    )
    tts_threads: int = Field(0, ge=0, le=256, description="Speech synthesis threads; 0 = one per CPU core.")
    audio_loudness_lufs: float = Field(-16.0, ge=-36, le=-6, description="Integrated loudness of the master (LUFS).")
    audio_true_peak_dbtp: float = Field(-1.0, ge=-12, le=0, description="Highest true peak of the encodings (dBTP).")
    audio_mp3_bitrate: int = Field(96, ge=32, le=320, description="MP3 bit rate in kbit/s (mono, 44.1 kHz).")
    audio_opus_bitrate: int = Field(48, ge=16, le=256, description="Ogg Opus bit rate in kbit/s.")

    @field_validator("tts_host_voices")
    @classmethod
    def _check_host_voices(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        known = {"model", "pitch", "tempo", "noise_scale", "noise_w", "volume_db"}
        for index, voice in enumerate(value):
            if not isinstance(voice, dict):
                raise ValueError(f"entry {index} must be a JSON object")
            unknown = sorted(set(voice) - known)
            if unknown:
                raise ValueError(f"entry {index} has unknown keys {unknown} (known: {sorted(known)})")
            for key in ("pitch", "tempo"):
                if key in voice and not (isinstance(voice[key], int | float) and 0.5 <= float(voice[key]) <= 2.0):
                    raise ValueError(f"entry {index}: {key} must be a number from 0.5 to 2.0")
        return value
