"""The OpenAI-compatible speech provider against the local OpenAI-compatible speech API stand-in: real
requests, real WAV/PCM decoded, retries, time-outs, errors that name the service and never the key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr

from aether.config import Settings, load_settings
from aether.errors import ConfigError, SpeechError
from aether.media.analysis import median_pitch_hz
from aether.media.audio import SAMPLE_RATE, rms_db
from aether.providers.tts import SPEECH_RMS_DB, VoiceSettings, cast_voices, host_voices, synthesize, synthesize_many
from tests.standins.speech import SpeechStandin

KEY = "sk-test-speech-0001"
LINE = "Welcome back. Today we look at small language models."


@pytest.fixture
def standin() -> Iterator[SpeechStandin]:
    with SpeechStandin(api_key=KEY) as server:
        yield server


def api_settings(standin: SpeechStandin, **overrides: Any) -> Settings:
    options: dict[str, Any] = {
        "tts_base_url": standin.base_url,
        "tts_api_key": SecretStr(KEY),
        "tts_model": "kokoro",
        "tts_timeout": 20.0,
        "tts_max_retries": 2,
    }
    return load_settings(**(options | overrides))


def api_voice(settings: Settings, **voice: Any) -> VoiceSettings:
    return cast_voices(settings, [{"name": "Ada", "voice": {"engine": "api", "voice": "nova"} | voice}])[0]


def test_a_line_is_spoken_by_the_api_and_comes_back_at_44k(standin: SpeechStandin) -> None:
    voice = api_voice(api_settings(standin), tempo=1.1)
    assert (voice.engine, voice.api_model, voice.api_voice) == ("api", "kokoro", "nova")
    samples = synthesize(LINE, voice)
    assert samples.dtype == np.float32 and 2.0 < samples.size / SAMPLE_RATE < 6.0
    assert abs(rms_db(samples) - SPEECH_RMS_DB) < 1.5
    assert 60 < median_pitch_hz(samples) < 200  # speech, not noise
    body = standin.requests[0]
    assert body == {"model": "kokoro", "input": LINE, "voice": "nova", "response_format": "wav", "speed": 1.1}
    assert standin.headers[0]["authorization"] == f"Bearer {KEY}"


def test_raw_pcm_is_decoded_at_24k(standin: SpeechStandin) -> None:
    settings = api_settings(standin, tts_response_format="pcm")
    wav = synthesize(LINE, api_voice(api_settings(standin)))
    pcm = synthesize(LINE, api_voice(settings))
    assert standin.requests[-1]["response_format"] == "pcm"
    assert abs(pcm.size - wav.size) < SAMPLE_RATE // 50  # the same speech, read at the same rate


def test_pitch_is_asked_as_slower_speech_then_raised(standin: SpeechStandin) -> None:
    settings = api_settings(standin)
    plain, raised = api_voice(settings), api_voice(settings, pitch=1.3)
    low, high = synthesize(LINE, plain), synthesize(LINE, raised)
    assert standin.requests[1]["speed"] == pytest.approx(1 / 1.3, abs=1e-3)
    assert median_pitch_hz(high) / median_pitch_hz(low) > 1.2
    assert abs(high.size - low.size) / low.size < 0.1  # as long as before


def test_a_wrong_key_is_a_clear_error_without_the_key(standin: SpeechStandin) -> None:
    settings = api_settings(standin, tts_api_key=SecretStr("sk-wrong-key-9999"))
    with pytest.raises(SpeechError) as caught:
        synthesize(LINE, api_voice(settings))
    message = str(caught.value)
    assert f"speech API at {standin.base_url} refused the request: HTTP 401: Incorrect API key provided" in message
    assert "sk-wrong-key-9999" not in message and KEY not in message
    assert len(standin.headers) == 1  # a 401 is not retried


def test_an_unknown_voice_is_refused_with_the_servers_words(standin: SpeechStandin) -> None:
    with pytest.raises(SpeechError, match="Invalid value for 'voice': 'nobody'"):
        synthesize(LINE, api_voice(api_settings(standin), voice="nobody"))


def test_server_errors_are_retried_then_succeed(standin: SpeechStandin) -> None:
    standin.retry_after = "0"
    standin.errors += [503, 500]
    samples = synthesize(LINE, api_voice(api_settings(standin)))
    assert samples.size > SAMPLE_RATE and len(standin.requests) == 3


def test_retries_run_out(standin: SpeechStandin) -> None:
    standin.retry_after = "0"
    standin.errors += [502, 502, 502]
    with pytest.raises(SpeechError, match=r"failed after 3 attempts: HTTP 502: stand-in error 502"):
        synthesize(LINE, api_voice(api_settings(standin)))


def test_a_slow_server_times_out(standin: SpeechStandin) -> None:
    standin.delay_s = 1.5
    settings = api_settings(standin, tts_timeout=0.3, tts_max_retries=1)
    with pytest.raises(SpeechError, match=r"failed after 2 attempts: timed out after 0.3 s"):
        synthesize(LINE, api_voice(settings))
    assert len(standin.requests) == 2


def test_default_hosts_on_the_api_engine_and_mixed_casts(standin: SpeechStandin) -> None:
    settings = api_settings(standin, tts_engine="api", tts_api_voices=["onyx", "shimmer"])
    first, second = host_voices(settings, 2)
    assert (first.api_voice, second.api_voice) == ("onyx", "shimmer")
    cast = cast_voices(settings, [{"name": "Ada", "voice": {"engine": "piper"}}, {"name": "Bo", "voice": None}])
    assert (cast[0].engine, cast[1].engine, cast[1].api_voice) == ("piper", "api", "shimmer")
    lines = list(synthesize_many([(LINE, cast[0]), (LINE, cast[1])], threads=2))
    assert len(lines) == 2 and all(line.size > SAMPLE_RATE for line in lines)
    assert [r["voice"] for r in standin.requests] == ["shimmer"]


def test_an_api_voice_needs_a_configured_api() -> None:
    settings = load_settings()
    with pytest.raises(ConfigError, match="AETHER_TTS_BASE_URL"):
        cast_voices(settings, [{"name": "Ada", "voice": {"engine": "api", "voice": "nova"}}])
    # a show may name an API voice before the API is configured
    checked = cast_voices(settings, [{"name": "Ada", "voice": {"engine": "api", "voice": "nova"}}], for_speech=False)
    with pytest.raises(ConfigError, match="AETHER_TTS_BASE_URL"):
        synthesize(LINE, checked[0])


def test_fingerprints_follow_what_decides_the_sound(standin: SpeechStandin) -> None:
    settings = api_settings(standin)
    nova, again = api_voice(settings), api_voice(settings)
    assert nova.fingerprint() == again.fingerprint() and len(nova.fingerprint()) == 64
    assert api_voice(settings, voice="onyx").fingerprint() != nova.fingerprint()
    assert api_voice(settings, tempo=1.2).fingerprint() != nova.fingerprint()
    assert api_voice(settings, model="tts-1-hd").fingerprint() != nova.fingerprint()
    other = api_voice(api_settings(standin, tts_base_url="http://127.0.0.1:9/v1"))
    assert other.fingerprint() != nova.fingerprint()
    assert api_voice(api_settings(standin, tts_api_key=SecretStr("sk-other"))).fingerprint() == nova.fingerprint()
