"""Independent checks of encoded media for the tests: decode with ffmpeg, meter with pyloudnorm, true
peak by 4x oversampling with scipy (not the code under test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
from scipy.signal import resample_poly

from aether.media.ffmpeg import decode_pcm

RATE = 44100


def decode(path: Path, rate: int = RATE) -> np.ndarray:
    return np.concatenate(list(decode_pcm(path, rate))).astype(np.float64)


def loudness(samples: np.ndarray, rate: int = RATE) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(samples))


def true_peak_dbtp(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.abs(resample_poly(samples, 4, 1)).max()))
