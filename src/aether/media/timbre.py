"""Timbre of a voice (numpy only): a formant shift and an EQ tilt, applied in one STFT pass.

* Formant shift: each frame's spectral envelope (cepstrally smoothed log magnitude) is scaled along the
  frequency axis by `formant` while the harmonics (the pitch) stay where they are: > 1 sounds like a
  smaller vocal tract, < 1 a larger one. Together with the pitch change (resampling, which moves both)
  it lets a second host on the same voice model differ in timbre, not only in pitch.
* EQ tilt: `tilt_db` dB per octave around 1 kHz (positive = brighter), limited to ±12 dB, flat below
  100 Hz (alone: one zero-phase filter over the whole line; with a formant shift: in the same STFT).

`apply_timbre(x, rate, 1.0, 0.0)` returns `x` unchanged.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from aether.media.audio import Samples

FRAME = 1024
HOP = 512
LIFTER_S = 0.002  # envelope detail kept: quefrencies below 2 ms (under the pitch period of any voice up to 500 Hz)
MAX_TILT_DB = 12.0


def tilt_gains(freqs: NDArray[np.float64], tilt_db: float) -> NDArray[np.float64]:
    octaves = np.log2(np.maximum(freqs, 100.0) / 1000.0)
    return np.asarray(10 ** (np.clip(tilt_db * octaves, -MAX_TILT_DB, MAX_TILT_DB) / 20.0), dtype=np.float64)


def apply_timbre(x: Samples, rate: int, formant: float = 1.0, tilt_db: float = 0.0) -> Samples:
    """`x` with its formants scaled by `formant` and tilted by `tilt_db` dB/octave (same length)."""
    if (formant == 1.0 and tilt_db == 0.0) or x.size == 0:
        return x
    n = x.size
    if formant == 1.0:  # a fixed EQ: one zero-phase filter over the whole line
        size = 1 << int(np.ceil(np.log2(n + FRAME)))
        spectrum = np.fft.rfft(np.asarray(x, np.float64), n=size)
        spectrum *= tilt_gains(np.asarray(np.fft.rfftfreq(size, 1.0 / rate), dtype=np.float64), tilt_db)
        return np.asarray(np.fft.irfft(spectrum, n=size)[:n], dtype=np.float32)
    padded = np.concatenate([np.zeros(FRAME, np.float64), np.asarray(x, np.float64), np.zeros(FRAME + HOP, np.float64)])
    count = (padded.size - FRAME) // HOP + 1
    window = np.hanning(FRAME + 1)[:FRAME]
    index = np.arange(FRAME)[None, :] + HOP * np.arange(count)[:, None]
    spectrum = np.fft.rfft(padded[index] * window, axis=1)
    magnitude = np.abs(spectrum)
    freqs = np.asarray(np.fft.rfftfreq(FRAME, 1.0 / rate), dtype=np.float64)
    cepstrum = np.fft.irfft(np.log(np.maximum(magnitude, 1e-9)), n=FRAME, axis=1)
    keep = max(2, round(LIFTER_S * rate))
    cepstrum[:, keep : FRAME - keep + 1] = 0.0
    envelope = np.fft.rfft(cepstrum, axis=1).real  # the log envelope of each frame
    # the envelope moved: new(f) = old(f / formant), by linear interpolation on the bins
    position = np.arange(freqs.size) / formant
    low = np.clip(np.floor(position).astype(int), 0, freqs.size - 1)
    high = np.clip(low + 1, 0, freqs.size - 1)
    frac = np.clip(position - low, 0.0, 1.0)
    moved = envelope[:, low] * (1 - frac) + envelope[:, high] * frac
    gain = np.exp(np.clip(moved - envelope, -3.0, 3.0))  # at most ±26 dB per bin
    if tilt_db != 0.0:
        gain *= tilt_gains(freqs, tilt_db)[None, :]
    frames = np.fft.irfft(spectrum * gain, n=FRAME, axis=1) * window
    out = np.zeros(padded.size, np.float64)
    norm = np.zeros(padded.size, np.float64)
    for phase in range(FRAME // HOP):  # every (FRAME/HOP)th frame lies end to end: add them as one run
        run = frames[phase :: FRAME // HOP].reshape(-1)
        start = phase * HOP
        out[start : start + run.size] += run
        norm[start : start + run.size] += np.tile(window**2, run.size // FRAME)
    result = out / np.maximum(norm, 1e-6)
    return np.asarray(result[FRAME : FRAME + n], dtype=np.float32)
