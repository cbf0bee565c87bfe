"""A client for any OpenAI-compatible speech API (OpenAI, Kokoro-FastAPI, openedai-speech and the like).

* `POST {AETHER_TTS_BASE_URL}/audio/speech` (the base URL ends in `/v1`, as for the LLM) with JSON
  `{"model", "input", "voice", "response_format": "wav" | "pcm", "speed"}`; the API key is sent as a
  bearer token and never appears in errors or logs.
* The answer is a WAV (16-bit or float, any rate; a streamed header's placeholder length is tolerated)
  or raw PCM (16-bit little-endian mono at 24 kHz, as OpenAI sends it); it comes back as float32 at its
  own rate (aether.providers.tts resamples and levels it like a Piper line).
* Time-out per request and retries as for the LLM (aether.providers.retry); failures raise SpeechError
  naming the service and the server's message.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import numpy as np
from pydantic import SecretStr

from aether.config import Settings
from aether.errors import ConfigError, SpeechError
from aether.media.audio import Samples, read_wav
from aether.providers.retry import RetryPolicy, send

PCM_RATE = 24000  # OpenAI's `pcm`: 24 kHz, 16-bit signed little-endian, mono
MIN_SPEED, MAX_SPEED = 0.25, 4.0  # the range the OpenAI API accepts


@dataclass(frozen=True)
class SpeechApi:
    base_url: str
    model: str
    api_key: SecretStr | None = None
    timeout: float = 60.0
    max_retries: int = 3
    response_format: str = "wav"
    backoff_base: float = 0.5

    @classmethod
    def from_settings(cls, settings: Settings, model: str | None = None) -> SpeechApi:
        if not settings.tts_base_url:
            raise ConfigError(
                "AETHER_TTS_BASE_URL is not set: no speech API is configured for a voice with engine 'api'",
                field="AETHER_TTS_BASE_URL",
            )
        return cls(
            settings.tts_base_url,
            model or settings.tts_model,
            api_key=settings.tts_api_key,
            timeout=settings.tts_timeout,
            max_retries=settings.tts_max_retries,
            response_format=settings.tts_response_format,
        )

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/audio/speech"

    def speech(self, text: str, voice: str, *, speed: float = 1.0) -> tuple[Samples, int]:
        """`text` spoken by `voice`: mono float32 samples and their rate."""
        body = {
            "model": self.model,
            "input": text,
            "voice": voice,
            "response_format": self.response_format,
            "speed": round(min(MAX_SPEED, max(MIN_SPEED, speed)), 4),
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key is not None and self.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        policy = RetryPolicy(
            f"speech API at {self.base_url}",
            SpeechError,
            self.timeout,
            max_retries=self.max_retries,
            backoff_base=self.backoff_base,
        )
        with httpx.Client(timeout=httpx.Timeout(self.timeout), headers=headers, trust_env=False) as client:
            response = send(policy, lambda: client.post(self.url, json=body))
        return self._decode(response)

    def _decode(self, response: httpx.Response) -> tuple[Samples, int]:
        data = response.content
        if self.response_format == "pcm" and not data.startswith(b"RIFF"):
            usable = len(data) - len(data) % 2
            samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0
            rate = PCM_RATE
        else:
            try:
                samples, rate = read_wav(data)
            except ValueError as exc:
                kind = response.headers.get("content-type", "?")
                raise SpeechError(f"speech API at {self.base_url} sent audio that is not WAV ({kind}: {exc})") from None
        if samples.size == 0:
            raise SpeechError(f"speech API at {self.base_url} sent no audio")
        return np.asarray(samples, dtype=np.float32), rate
