"""Piper TTS with the bundled voice: real synthesis, the second host's transformed voice, settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aether.config import load_settings
from aether.errors import ConfigError
from aether.media.analysis import median_pitch_hz
from aether.media.audio import SAMPLE_RATE, rms_db
from aether.providers.tts import (
    SPEECH_RMS_DB,
    bundled_model,
    host_voices,
    speakable,
    synthesize,
    synthesize_many,
)

LINES = [
    "Welcome back to the show. Today we look at small language models.",
    "What makes the small ones so interesting right now?",
    "Mostly cost and privacy: your data never leaves the machine.",
]


def test_bundled_voice_comes_from_the_wheel() -> None:
    model = bundled_model()
    assert model.name == "en_US-joe-medium.onnx" and model.is_file()
    assert Path(f"{model}.json").is_file()


@pytest.mark.slow
def test_two_hosts_sound_like_two_people() -> None:
    settings = load_settings()
    first, second = host_voices(settings, 2)
    assert first.pitch == 1.0 and second.pitch > 1.15
    audio = [np.concatenate(list(synthesize_many([(t, v) for t in LINES], threads=2))) for v in (first, second)]
    for samples in audio:
        assert samples.dtype == np.float32 and samples.size > 2 * SAMPLE_RATE
        assert abs(rms_db(samples) - SPEECH_RMS_DB) < 1.5
        assert np.max(np.abs(samples)) < 1.0
    low, high = median_pitch_hz(audio[0]), median_pitch_hz(audio[1])
    assert 60 < low < 200
    assert (high - low) / low >= 0.15, (low, high)


def test_one_line_is_trimmed_speech_at_44k() -> None:
    settings = load_settings()
    voice = host_voices(settings, 1)[0]
    samples = synthesize("Hello there, and welcome!", voice)
    seconds = samples.size / SAMPLE_RATE
    assert 0.8 < seconds < 3.0
    # trimmed: speech begins and ends within a few dozen milliseconds of the edges
    edge = SAMPLE_RATE // 20
    assert np.max(np.abs(samples[:edge])) > 0.0005 or np.max(np.abs(samples[edge : 2 * edge])) > 0.01


def test_more_hosts_than_settings_stay_apart() -> None:
    settings = load_settings(tts_host_voices=[{}])
    voices = host_voices(settings, 3)
    assert len({v.pitch for v in voices}) == 3


def test_bad_voice_settings_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        host_voices(load_settings(tts_voice_model=tmp_path / "missing.onnx"), 1)
    assert "AETHER_TTS_VOICE_MODEL" in str(info.value) or "AETHER_TTS_HOST_VOICES" in str(info.value)
    with pytest.raises(ConfigError, match="AETHER_TTS_HOST_VOICES"):
        load_settings(tts_host_voices=[{"pitch": 5}])


def test_speakable_drops_symbols() -> None:
    assert speakable("Hi 🎉 <b>there</b> & co") == "Hi there and co"
