"""The timbre stage on a synthetic vowel: a formant shift moves the spectral envelope and keeps the
harmonics (the pitch) where they are; an EQ tilt brightens or darkens; neutral settings change nothing."""

from __future__ import annotations

import numpy as np

from aether.media.analysis import median_pitch_hz, spectral_centroid_hz
from aether.media.timbre import apply_timbre

RATE = 44100


def vowel(f0: float = 120.0, formants: tuple[float, ...] = (500.0, 1500.0, 2500.0), seconds: float = 1.0) -> np.ndarray:
    """A harmonic series under resonances at `formants`: a crude sustained neutral vowel."""
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros_like(t)
    for k in range(1, int(5000 / f0)):
        f = k * f0
        gain = sum(1.0 / (1.0 + ((f - fc) / 120.0) ** 2) for fc in formants)
        out += gain * np.sin(2 * np.pi * f * t + k)
    return (0.3 * out / np.max(np.abs(out))).astype(np.float32)


def peak_hz(x: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1 / RATE)
    band = (freqs > low) & (freqs < high)
    return float(freqs[band][np.argmax(spectrum[band])])


def test_neutral_settings_change_nothing() -> None:
    x = vowel()
    assert apply_timbre(x, RATE) is x


def test_a_formant_shift_moves_the_envelope_not_the_pitch() -> None:
    x = vowel()
    up, down = apply_timbre(x, RATE, formant=1.15), apply_timbre(x, RATE, formant=0.87)
    assert up.size == down.size == x.size and up.dtype == np.float32
    for y in (up, down):
        assert abs(median_pitch_hz(y) - median_pitch_hz(x)) < 3.0
    # the second resonance (1500 Hz) moves with the shift, to a harmonic of 120 Hz near it
    assert peak_hz(x, 1100, 1900) == 1440.0 or peak_hz(x, 1100, 1900) == 1560.0
    assert peak_hz(up, 1100, 1900) >= 1680.0 and peak_hz(down, 1000, 1800) <= 1320.0
    assert spectral_centroid_hz(down) < spectral_centroid_hz(x) < spectral_centroid_hz(up)


def test_a_tilt_brightens_or_darkens() -> None:
    x = vowel()
    bright, dark = apply_timbre(x, RATE, tilt_db=3.0), apply_timbre(x, RATE, tilt_db=-3.0)
    assert spectral_centroid_hz(dark) < spectral_centroid_hz(x) < spectral_centroid_hz(bright)
    assert abs(median_pitch_hz(bright) - median_pitch_hz(x)) < 3.0
