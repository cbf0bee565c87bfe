"""OpenAI-compatible speech API stand-in: `POST /v1/audio/speech` as the OpenAI API defines it.

* Bearer auth (401 with an OpenAI-style error body on a wrong key); JSON `model`, `input` and `voice` are
  required (400 otherwise, and for a voice it does not know); `speed` 0.25 to 4.0 (default 1);
  `response_format` `wav` (the default here) or `pcm`; other formats get 400 (this stand-in encodes no
  MP3/Opus/AAC/FLAC).
* The audio is real speech: the input read by the bundled Piper voice at the requested speed, resampled
  to 24 kHz like OpenAI's output. `wav` comes as OpenAI streams it, with placeholder (0xFFFFFFFF) sizes in
  the RIFF and data headers; `pcm` is raw 16-bit little-endian mono at 24 kHz.
* Test hooks: `errors` (statuses to answer first, one per request, with `Retry-After: retry_after`
  when set), `delay_s` (wait before answering),
  `requests` and `headers` (what was asked).
"""

from __future__ import annotations

import json
import struct
import time
from typing import Any

import numpy as np

from aether.media.audio import resample, to_int16
from aether.providers.tts import bundled_model, load_voice
from tests.standins.base import Handler, StandinServer

VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer")
RATE = 24000


def speak(text: str, speed: float) -> np.ndarray[Any, np.dtype[np.int16]]:
    """`text` read by the bundled Piper voice at `speed`, as 16-bit samples at 24 kHz (no noise: the same
    text always gives the same samples)."""
    from piper import SynthesisConfig

    voice = load_voice(bundled_model())
    length = float(voice.config.length_scale) / speed
    config = SynthesisConfig(length_scale=length, noise_scale=0.0, noise_w_scale=0.0, normalize_audio=True)
    chunks = [np.asarray(c.audio_float_array, dtype=np.float32) for c in voice.synthesize(text, syn_config=config)]
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return to_int16(resample(audio, int(voice.config.sample_rate), RATE))


def streamed_wav(pcm: bytes) -> bytes:
    """A 16-bit mono WAV with the placeholder sizes of a streamed response."""
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, RATE * 2, 2, 16)
    unknown = b"\xff\xff\xff\xff"
    return b"RIFF" + unknown + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + unknown + pcm


class SpeechHandler(Handler):
    def do_POST(self) -> None:
        state: SpeechStandin = self.standin
        raw = self.body()
        if self.path != "/v1/audio/speech":
            self.reply(404, {"error": {"message": f"no route {self.path}"}})
            return
        state.headers.append({k.lower(): v for k, v in self.headers.items()})
        if self.headers.get("Authorization") != f"Bearer {state.api_key}":
            self.reply(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self.reply(400, {"error": {"message": "invalid JSON body"}})
            return
        state.requests.append(body)
        if state.delay_s:
            time.sleep(state.delay_s)
        if state.errors:
            status = state.errors.pop(0)
            retry = {"Retry-After": state.retry_after} if state.retry_after is not None else None
            self.reply(status, {"error": {"message": f"stand-in error {status}"}}, headers=retry)
            return
        problem = self.problem(body)
        if problem:
            self.reply(400, {"error": {"message": problem, "type": "invalid_request_error"}})
            return
        pcm = speak(body["input"], float(body.get("speed", 1.0))).tobytes()
        fmt = body.get("response_format", "wav")
        data, kind = (streamed_wav(pcm), "audio/wav") if fmt == "wav" else (pcm, "audio/pcm")
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def problem(body: Any) -> str | None:
        if not isinstance(body, dict):
            return "the body must be a JSON object"
        for key in ("model", "input", "voice"):
            if not isinstance(body.get(key), str) or not body[key]:
                return f"'{key}' is a required property"
        if body["voice"] not in VOICES:
            return f"Invalid value for 'voice': {body['voice']!r} is not one of {list(VOICES)}"
        if len(body["input"]) > 4096:
            return "'input' must be at most 4096 characters"
        speed = body.get("speed", 1.0)
        if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
            return "'speed' must be a number from 0.25 to 4.0"
        if body.get("response_format", "wav") not in ("wav", "pcm"):
            return f"this stand-in sends wav or pcm only (asked {body.get('response_format')!r})"
        return None


class SpeechStandin(StandinServer):
    """OpenAI-compatible speech API stand-in (use as a context manager)."""

    def __init__(self, *, api_key: str = "sk-test-speech-0001") -> None:
        super().__init__(SpeechHandler)
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.errors: list[int] = []
        self.delay_s = 0.0
        self.retry_after: str | None = None  # sent with the queued error statuses

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"
