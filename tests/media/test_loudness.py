"""Streaming BS.1770 loudness, true peak and the limiter, checked against pyloudnorm and 8x oversampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
from scipy.signal import butter, lfilter, resample_poly

from aether.media.audio import SAMPLE_RATE, PcmWriter, db_to_gain
from aether.media.loudness import LoudnessMeter, TruePeakMeter, limiter_gain, master, true_peak_dbtp


def _programme(seconds: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    gate = np.repeat(rng.random(n // 4410 + 1) > 0.3, 4410)[:n]
    b, a = butter(4, 0.3)
    return np.asarray(lfilter(b, a, rng.standard_normal(n)) * 0.2 * gate, dtype=np.float64)


def _reference_peak_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.abs(resample_poly(x, 8, 1)).max()))


def test_streaming_meter_equals_pyloudnorm() -> None:
    x = _programme(12.0)
    meter = LoudnessMeter()
    for start in range(0, x.size, 12_345):  # odd block sizes: state must carry across blocks
        meter.feed(x[start : start + 12_345])
    assert abs(meter.integrated() - pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(x)) < 0.01


def test_silence_is_minus_infinity() -> None:
    meter = LoudnessMeter()
    meter.feed(np.zeros(SAMPLE_RATE))
    assert meter.integrated() == float("-inf")


def test_true_peak_finds_inter_sample_peaks() -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    x = 0.9 * np.sin(2 * np.pi * (SAMPLE_RATE / 4) * t + np.pi / 4)  # samples miss the crest by 3 dB
    assert float(20 * np.log10(np.abs(x).max())) < -3.5
    assert abs(true_peak_dbtp(x) - _reference_peak_db(x)) < 0.3
    meter = TruePeakMeter()
    for start in range(0, x.size, 1000):
        meter.feed(x[start : start + 1000])
    assert abs(meter.dbtp - _reference_peak_db(x)) < 0.3


def test_limiter_keeps_the_ceiling_and_leaves_quiet_audio_alone() -> None:
    x = _programme(6.0) * 4
    ceiling = db_to_gain(-2.0)
    y = x * limiter_gain(x, ceiling)
    assert _reference_peak_db(y) <= -1.9
    quiet = x * 0.05
    assert np.array_equal(limiter_gain(quiet, ceiling), np.ones_like(quiet))


def test_master_streams_gain_and_limit(tmp_path: Path) -> None:
    x = _programme(25.0, seed=3)
    source = tmp_path / "mix.f32"
    with PcmWriter(source) as writer:
        writer.write(x)
    before = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(x)
    blocks: list[np.ndarray] = []
    meter = master(source, blocks.append, gain_db=-16 - before, ceiling_dbtp=-2.0, block=SAMPLE_RATE * 3)
    y = np.concatenate(blocks).astype(np.float64)
    assert y.size == x.size
    assert abs(pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(y) + 16) < 1.0
    assert _reference_peak_db(y) <= -1.9 and meter.dbtp <= -1.95
