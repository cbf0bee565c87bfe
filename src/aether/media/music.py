"""Music generated offline with numpy: a seamless bed loop (chord progression on pads, bass, a soft
drum pattern, an optional arpeggio) and intro/outro stings. Everything follows from a seed text (show
and topic), so each show or topic gets its own key, mode, progression, tempo and groove, and the same
seed always gives the same bytes. No samples from anywhere: every sound is synthesised here."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aether.media.audio import SAMPLE_RATE, Samples, db_to_gain, rms_db

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
# progressions as scale degrees (0 = tonic)
MAJOR_PROGRESSIONS = ((0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 3, 4), (0, 3, 5, 4), (3, 0, 4, 5))
MINOR_PROGRESSIONS = ((0, 5, 2, 6), (0, 3, 6, 2), (0, 6, 5, 6), (5, 6, 0, 0), (0, 3, 4, 0))
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
BED_RMS_DB = -20.0
STING_RMS_DB = -17.0


@dataclass(frozen=True)
class MusicSpec:
    seed: str
    root: int  # MIDI note of the key's tonic in the pad octave
    minor: bool
    progression: tuple[int, ...]
    bpm: float
    bars_per_chord: int
    arpeggio: bool
    hat_density: float  # 0..1: share of eighth notes with a hi-hat
    pad_brightness: float  # 0..1: weight of upper partials

    @property
    def key(self) -> str:
        return f"{KEY_NAMES[self.root % 12]} {'minor' if self.minor else 'major'}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"key": self.key}


def spec_for(seed: str) -> MusicSpec:
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    minor = digest[1] % 2 == 1
    progressions = MINOR_PROGRESSIONS if minor else MAJOR_PROGRESSIONS
    return MusicSpec(
        seed=seed,
        root=48 + digest[0] % 12,
        minor=minor,
        progression=progressions[digest[2] % len(progressions)],
        bpm=float(78 + digest[3] % 27),
        bars_per_chord=1 + digest[4] % 2,
        arpeggio=digest[5] % 3 != 0,
        hat_density=0.35 + (digest[6] % 60) / 100,
        pad_brightness=0.35 + (digest[7] % 50) / 100,
    )


def _freq(midi: float) -> float:
    return float(440.0 * 2 ** ((midi - 69) / 12))


def chord_notes(spec: MusicSpec, degree: int, octave: int = 0) -> list[int]:
    scale = MINOR if spec.minor else MAJOR
    notes = []
    for step in (0, 2, 4):
        index = degree + step
        notes.append(spec.root + 12 * octave + scale[index % 7] + 12 * (index // 7))
    return notes


def _envelope(n: int, attack: int, release: int) -> NDArray[np.float64]:
    env = np.ones(n)
    attack, release = min(attack, n), min(release, n)
    if attack:
        env[:attack] = np.linspace(0.0, 1.0, attack)
    if release:
        env[n - release :] *= np.linspace(1.0, 0.0, release)
    return env


_TABLE = 4096


def _wavetable(brightness: float) -> NDArray[np.float64]:
    """One period of the pad's waveform: five harmonics, upper ones weighted by `brightness`."""
    phase = 2 * np.pi * np.arange(_TABLE) / _TABLE
    return np.asarray(sum((brightness ** (h - 1)) / h * np.sin(h * phase) for h in range(1, 6)), dtype=np.float64)


def _pad(notes: list[int], n: int, brightness: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Two slightly detuned wavetable oscillators per note (a chorus), with a slow tremolo."""
    table = _wavetable(brightness)
    index = np.arange(n, dtype=np.float64)
    out = np.zeros(n)
    for note in notes:
        for detune in (-0.0035, 0.0035):
            step = _freq(note) * (1 + detune) * _TABLE / SAMPLE_RATE
            start = rng.uniform(0, _TABLE)
            out += table[((index * step + start) % _TABLE).astype(np.int64)]
    tremolo = 1 + 0.08 * np.sin(2 * np.pi * 0.25 * index / SAMPLE_RATE)
    return out * tremolo / (len(notes) * 2)


def _pluck(freq: float, n: int, decay_s: float, partials: tuple[float, ...] = (1.0, 2.0)) -> NDArray[np.float64]:
    t = np.arange(n) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * freq * p * t) / (i + 1) for i, p in enumerate(partials))
    return np.asarray(tone * np.exp(-t / decay_s) * _envelope(n, 40, 200), dtype=np.float64)


def _kick(n: int) -> NDArray[np.float64]:
    t = np.arange(n) / SAMPLE_RATE
    freq = 45 + 75 * np.exp(-t / 0.04)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    return np.asarray(np.sin(phase) * np.exp(-t / 0.18) * _envelope(n, 20, 200), dtype=np.float64)


def _hat(n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    noise = rng.standard_normal(n + 1)
    bright = np.diff(noise)  # a first difference: a gentle high-pass
    t = np.arange(n) / SAMPLE_RATE
    return np.asarray(bright * np.exp(-t / 0.025) * 0.25, dtype=np.float64)


def _add(buffer: NDArray[np.float64], at: int, sound: NDArray[np.float64], gain: float) -> None:
    end = min(buffer.size, at + sound.size)
    if end > at:
        buffer[at:end] += gain * sound[: end - at]


def _normalise(x: NDArray[np.float64], rms_target_db: float) -> Samples:
    gain = db_to_gain(rms_target_db - rms_db(x, floor_db=-70))
    return np.asarray(np.tanh(x * gain * 1.2) / 1.2, dtype=np.float32)


def render_bed(spec: MusicSpec) -> Samples:
    """One seamless loop of the progression (its end flows into its start)."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(spec.seed.encode()).digest()[:8], "big"))
    beat = 60.0 / spec.bpm
    chord_s = beat * 4 * spec.bars_per_chord
    loop_n = round(chord_s * len(spec.progression) * SAMPLE_RATE)
    tail = round(2.0 * SAMPLE_RATE)
    buffer = np.zeros(loop_n + tail)
    eighth = beat / 2
    for index, degree in enumerate(spec.progression):
        start = round(index * chord_s * SAMPLE_RATE)
        length = round((chord_s + 0.8) * SAMPLE_RATE)
        pad = _pad(chord_notes(spec, degree), length, spec.pad_brightness, rng)
        _add(buffer, start, pad * _envelope(length, round(0.5 * SAMPLE_RATE), round(1.0 * SAMPLE_RATE)), 0.55)
        bass_note = chord_notes(spec, degree, octave=-1)[0] - 12
        for beat_index in range(0, 4 * spec.bars_per_chord, 2):
            at = start + round(beat_index * beat * SAMPLE_RATE)
            _add(buffer, at, _pluck(_freq(bass_note), round(beat * 1.8 * SAMPLE_RATE), 0.45), 0.35)
        tones = chord_notes(spec, degree, octave=1)
        for step in range(8 * spec.bars_per_chord):
            at = start + round(step * eighth * SAMPLE_RATE)
            if step % 4 == 0:
                _add(buffer, at, _kick(round(0.35 * SAMPLE_RATE)), 0.5)
            if rng.random() < spec.hat_density:
                _add(buffer, at, _hat(round(0.12 * SAMPLE_RATE), rng), 0.22 if step % 2 else 0.12)
            if spec.arpeggio:
                note = tones[(step * 2 + index) % 3] + (12 if step % 8 == 7 else 0)
                _add(buffer, at, _pluck(_freq(note), round(0.6 * SAMPLE_RATE), 0.22, (1.0, 3.0)), 0.09)
    loop = buffer[:loop_n].copy()
    loop[:tail] += buffer[loop_n:]
    return _normalise(loop, BED_RMS_DB)


def render_sting(spec: MusicSpec, kind: str) -> Samples:
    """A short signature: `intro` (a swell up to the tonic, ~3 s) or `outro` (a cadence that rings out)."""
    if kind not in ("intro", "outro"):
        raise ValueError("kind must be intro or outro")
    rng = np.random.default_rng(len(spec.seed) + (1 if kind == "intro" else 2))
    total = round((3.2 if kind == "intro" else 4.2) * SAMPLE_RATE)
    buffer = np.zeros(total)
    tonic = chord_notes(spec, 0)
    if kind == "intro":
        pad = _pad(tonic, total, spec.pad_brightness, rng)
        _add(buffer, 0, pad * _envelope(total, round(1.2 * SAMPLE_RATE), round(1.6 * SAMPLE_RATE)), 0.6)
        for i, note in enumerate([*chord_notes(spec, 0, octave=1), tonic[0] + 24]):
            at = round((0.15 + i * 0.22) * SAMPLE_RATE)
            _add(buffer, at, _pluck(_freq(note), round(1.8 * SAMPLE_RATE), 0.5, (1.0, 2.76, 5.4)), 0.22)
        _add(buffer, 0, _kick(round(0.5 * SAMPLE_RATE)), 0.6)
    else:
        dominant = chord_notes(spec, 4)
        split = round(0.9 * SAMPLE_RATE)
        _add(buffer, 0, _pad(dominant, split, spec.pad_brightness, rng) * _envelope(split, 400, 3000), 0.55)
        rest = total - split
        pad = _pad(tonic, rest, spec.pad_brightness, rng) * _envelope(rest, 300, round(2.8 * SAMPLE_RATE))
        _add(buffer, split, pad, 0.6)
        for i, note in enumerate(reversed([*chord_notes(spec, 0, octave=1), tonic[0] + 24])):
            at = split + round(i * 0.18 * SAMPLE_RATE)
            _add(buffer, at, _pluck(_freq(note), round(2.4 * SAMPLE_RATE), 0.7, (1.0, 2.76, 5.4)), 0.2)
        _add(buffer, split, _kick(round(0.5 * SAMPLE_RATE)), 0.5)
        buffer *= _envelope(total, 0, round(0.4 * SAMPLE_RATE))
    return _normalise(buffer, STING_RMS_DB)


@dataclass(frozen=True)
class MusicParts:
    bed: Samples
    intro: Samples
    outro: Samples
    spec: MusicSpec | None = None


def render_music(seed: str) -> MusicParts:
    spec = spec_for(seed)
    return MusicParts(render_bed(spec), render_sting(spec, "intro"), render_sting(spec, "outro"), spec)


def bed_at(bed: Samples, start: int, count: int) -> Samples:
    """Samples [start, start+count) of the bed looped forever."""
    index = (np.arange(start, start + count) % bed.size) if bed.size else np.zeros(0, dtype=np.int64)
    return bed[index] if bed.size else np.zeros(count, dtype=np.float32)
