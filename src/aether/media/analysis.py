"""Measurements of speech: the median fundamental frequency (pitch) of the voiced parts, and the spectral
centroid (brightness) of the active parts."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from aether.media.audio import SAMPLE_RATE, resample

ANALYSIS_RATE = 16000


def median_pitch_hz(
    x: NDArray[np.floating], rate: int = SAMPLE_RATE, low_hz: float = 60.0, high_hz: float = 400.0
) -> float:
    """Median F0 over voiced 40 ms frames (autocorrelation peak above half the frame's energy); 0 if none."""
    data = np.asarray(resample(np.asarray(x, dtype=np.float32), rate, ANALYSIS_RATE), dtype=np.float64)
    frame, hop = round(0.04 * ANALYSIS_RATE), round(0.01 * ANALYSIS_RATE)
    min_lag, max_lag = int(ANALYSIS_RATE / high_hz), int(ANALYSIS_RATE / low_hz)
    if data.size < frame:
        return 0.0
    starts = np.arange(0, data.size - frame + 1, hop)
    frames = data[starts[:, None] + np.arange(frame)]
    frames = frames - frames.mean(axis=1, keepdims=True)
    level = np.sqrt(np.mean(np.square(frames), axis=1))
    frames = frames[level > 0.3 * np.sqrt(np.mean(np.square(data)))] * np.hanning(frame)
    if frames.size == 0:
        return 0.0
    spectrum = np.fft.rfft(frames, n=2 * frame, axis=1)
    corr = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, : max_lag + 1]
    window_corr = np.correlate(np.hanning(frame), np.hanning(frame), mode="full")[frame - 1 : frame + max_lag]
    norm = corr / np.maximum(corr[:, :1], 1e-12) / (window_corr / window_corr[0])
    lags = np.argmax(norm[:, min_lag:max_lag], axis=1) + min_lag
    rows = np.arange(norm.shape[0])
    voiced = norm[rows, lags] > 0.5
    if not voiced.any():
        return 0.0
    # parabolic interpolation around the peak for a lag finer than one sample
    left, mid, right = norm[rows, lags - 1], norm[rows, lags], norm[rows, lags + 1]
    shift = 0.5 * (left - right) / np.where(np.abs(left - 2 * mid + right) < 1e-12, 1e-12, left - 2 * mid + right)
    exact = lags + np.clip(shift, -0.5, 0.5)
    return float(np.median(ANALYSIS_RATE / exact[voiced]))


def spectral_centroid_hz(x: NDArray[np.floating], rate: int = SAMPLE_RATE) -> float:
    """Median over active 40 ms frames (within 30 dB of the loudest) of the power-weighted mean frequency,
    50 Hz to 8 kHz; 0 if silent."""
    data = np.asarray(x, dtype=np.float64)
    frame = round(0.04 * rate)
    if data.size < frame:
        return 0.0
    starts = np.arange(0, data.size - frame + 1, frame // 2)
    frames = data[starts[:, None] + np.arange(frame)] * np.hanning(frame)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(frame, 1.0 / rate)
    band = (freqs >= 50) & (freqs <= 8000)
    power, freqs = power[:, band], freqs[band]
    energy = power.sum(axis=1)
    active = energy > energy.max() * 1e-3
    if not active.any():
        return 0.0
    return float(np.median((power[active] @ freqs) / energy[active]))
