"""Piper TTS with the bundled voice: real synthesis, two distinct default hosts (pitch, tempo, timbre),
the bible's voices per host, fingerprints, the voice's language, settings."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from aether.config import load_settings
from aether.errors import ConfigError, ValidationFailed
from aether.media.analysis import median_pitch_hz, spectral_centroid_hz
from aether.media.audio import SAMPLE_RATE, rms_db
from aether.providers.tts import (
    SPEECH_RMS_DB,
    bundled_model,
    cast_voices,
    host_voices,
    primary_language,
    speakable,
    synthesize,
    synthesize_many,
    voice_language,
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
    """The default pair on the one bundled voice differs in pitch, tempo and timbre. Measured on these
    lines: median pitch about 85 and 117 Hz (the bare voice 91 Hz), spectral centroid about 410 and
    770 Hz (the bare voice 510 Hz)."""
    settings = load_settings()
    first, second = host_voices(settings, 2)
    assert first.pitch < 1.0 < second.pitch and first.tempo < second.tempo and first.tilt_db < second.tilt_db
    audio = [np.concatenate(list(synthesize_many([(t, v) for t in LINES], threads=2))) for v in (first, second)]
    for samples in audio:
        assert samples.dtype == np.float32 and samples.size > 2 * SAMPLE_RATE
        assert abs(rms_db(samples) - SPEECH_RMS_DB) < 1.5
        assert np.max(np.abs(samples)) < 1.0
    low, high = median_pitch_hz(audio[0]), median_pitch_hz(audio[1])
    assert 60 < low < 200
    assert (high - low) / low >= 0.25, (low, high)  # main's pair: 90 vs 105-110 Hz, about 0.2 apart
    dark, bright = spectral_centroid_hz(audio[0]), spectral_centroid_hz(audio[1])
    assert bright / dark >= 1.4, (dark, bright)
    assert audio[1].size / audio[0].size < 0.92  # the second host speaks quicker


@pytest.mark.slow
def test_formant_and_tilt_change_the_timbre_not_the_pitch() -> None:
    plain = host_voices(load_settings(tts_host_voices=[{}]), 1)[0]
    darker, brighter = replace(plain, formant=0.88), replace(plain, tilt_db=2.0)
    base, low_formant, tilted = (synthesize(LINES[0], v) for v in (plain, darker, brighter))
    pitch = median_pitch_hz(base)
    for other in (low_formant, tilted):
        assert abs(median_pitch_hz(other) - pitch) / pitch < 0.06
        assert abs(other.size - base.size) / base.size < 0.1
    assert spectral_centroid_hz(low_formant) < spectral_centroid_hz(base) < spectral_centroid_hz(tilted)


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
    with pytest.raises(ConfigError, match="AETHER_TTS_HOST_VOICES"):
        load_settings(tts_host_voices=[{"formant": 3}])
    with pytest.raises(ConfigError, match="AETHER_TTS_HOST_VOICES"):
        host_voices(load_settings(tts_host_voices=[{"tilt_db": 40}]), 1)
    with pytest.raises(ConfigError, match="AETHER_TTS_BASE_URL"):
        load_settings(tts_base_url="ftp://speech.example")
    with pytest.raises(ConfigError, match="AETHER_TTS_API_VOICES"):
        load_settings(tts_api_voices=[" "])
    assert load_settings(tts_base_url="http://127.0.0.1:8880/v1/").tts_base_url == "http://127.0.0.1:8880/v1"


def test_speakable_drops_symbols() -> None:
    assert speakable("Hi 🎉 <b>there</b> & co") == "Hi there and co"


def test_the_bibles_voice_per_host_with_the_default_for_the_rest(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    model = tmp_path / "voices" / "en_GB-test-medium.onnx"
    model.parent.mkdir()
    shutil.copy(bundled_model(), model)
    config = Path(f"{bundled_model()}.json").read_text(encoding="utf-8").replace('"en_US"', '"en_GB"')
    Path(f"{model}.json").write_text(config, encoding="utf-8")
    cast = [
        {"name": "Ada", "persona": "", "voice": {"engine": "piper", "model": "en_GB-test-medium.onnx", "pitch": 1.1}},
        {"name": "Bo", "persona": "", "voice": None},
    ]
    ada, bo = cast_voices(settings, cast)
    assert ada.model == model and ada.pitch == 1.1 and ada.tilt_db == 0.0
    assert bo == host_voices(settings, 2)[1]
    assert voice_language(ada) == "en-GB" and voice_language(bo) == "en-US"
    assert primary_language("en_GB") == primary_language("EN-us") == "en"
    assert synthesize("Good evening.", ada).size > SAMPLE_RATE // 4

    # fingerprints: stable, and moved by the model's identity and by every setting of the sound
    assert ada.fingerprint() == cast_voices(settings, cast)[0].fingerprint()
    assert ada.fingerprint() != replace(ada, model=bundled_model()).fingerprint()
    for change in ({"pitch": 1.2}, {"tempo": 0.9}, {"volume_db": 1.0}, {"formant": 0.9}, {"tilt_db": 1.0}):
        assert replace(ada, **change).fingerprint() != ada.fingerprint(), change  # type: ignore[arg-type]
    before = ada.fingerprint()
    stamp = Path(f"{model}.json").stat().st_mtime_ns
    Path(f"{model}.json").write_text(config.replace('"noise_w": 0.8', '"noise_w": 0.7'), encoding="utf-8")
    os.utime(f"{model}.json", ns=(stamp + 1_000_000, stamp + 1_000_000))  # a coarse clock may not move it
    assert ada.fingerprint() != before

    with pytest.raises(ValidationFailed) as missing:
        cast_voices(settings, [cast[1], {"name": "Cy", "voice": {"model": "/nowhere/x.onnx"}}])
    assert missing.value.field == "hosts[1].voice.model" and "does not exist" in missing.value.message
    Path(f"{model}.json").unlink()
    with pytest.raises(ValidationFailed, match=r"hosts\[0\]\.voice\.model: the voice config .* is missing"):
        cast_voices(settings, cast)
