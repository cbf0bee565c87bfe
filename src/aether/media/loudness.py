"""Loudness (ITU-R BS.1770-4 / EBU R128) and true peak, measured in a stream, and the mastering pass.

`LoudnessMeter` is pyloudnorm's integrated-loudness algorithm (its K-weighting filter coefficients,
400 ms blocks with 75 % overlap, absolute gate -70 LUFS, relative gate -10 LU) computed block by block
with carried filter state, so an hour of audio is measured without holding it. `true_peak` oversamples
4x (BS.1770 annex 2). `master` applies the loudness gain and a look-ahead true-peak limiter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyloudnorm
from numpy.typing import NDArray
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import firwin, lfilter, lfilter_zi

from aether.media.audio import BLOCK, SAMPLE_RATE, Samples, db_to_gain, gain_to_db, pcm_length, read_pcm

ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
OVERSAMPLE = 4
LIMITER_ATTACK_S = 0.008  # look-ahead and smoothing
LIMITER_HOLD_S = 0.04


class LoudnessMeter:
    """Streaming integrated loudness of a mono signal: feed() blocks in order, then integrated()."""

    def __init__(self, rate: int = SAMPLE_RATE) -> None:
        meter = pyloudnorm.Meter(rate)
        self._stages: list[tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]] = [
            (stage.passband_gain * np.asarray(stage.b), np.asarray(stage.a), None) for stage in meter._filters.values()
        ]
        self.rate = rate
        self._hop = round(0.1 * rate)  # 400 ms blocks, 75 % overlap: 100 ms hops
        self._carry = np.zeros(0, dtype=np.float64)
        self._hops: list[float] = []
        self.samples = 0

    def feed(self, x: NDArray[np.floating]) -> None:
        y = np.asarray(x, dtype=np.float64)
        for index, (b, a, state) in enumerate(self._stages):
            if state is None:
                state = lfilter_zi(b, a) * 0.0
            y, state = lfilter(b, a, y, zi=state)
            self._stages[index] = (b, a, state)
        self.samples += y.size
        y = np.concatenate([self._carry, np.square(y)])
        full = y.size // self._hop
        if full:
            self._hops.extend(y[: full * self._hop].reshape(full, self._hop).sum(axis=1).tolist())
        self._carry = y[full * self._hop :]

    def block_energies(self) -> NDArray[np.float64]:
        hops = np.asarray([*self._hops, float(self._carry.sum())] if self._carry.size else self._hops)
        n_blocks = max(0, round((self.samples / self.rate - 0.4) / 0.1) + 1)
        if n_blocks == 0 or hops.size == 0:
            return np.zeros(0)
        padded = np.concatenate([hops, np.zeros(4)])
        sums = padded[:-3] + padded[1:-2] + padded[2:-1] + padded[3:]
        return np.asarray(sums[:n_blocks] / (4 * self._hop), dtype=np.float64)

    def integrated(self) -> float:
        """Integrated loudness in LUFS (-inf for silence)."""
        z = self.block_energies()
        with np.errstate(divide="ignore"):
            levels = -0.691 + 10 * np.log10(z)
        gated = z[levels >= ABSOLUTE_GATE]
        if gated.size == 0:
            return float("-inf")
        relative = -0.691 + 10 * np.log10(gated.mean()) + RELATIVE_GATE
        final = z[(levels > relative) & (levels >= ABSOLUTE_GATE)]
        if final.size == 0:
            return float("-inf")
        return float(-0.691 + 10 * np.log10(final.mean()))


_FRAME = 1024
_INTERP = (firwin(4 * 12 + 1, 0.24, window=("kaiser", 7.0)) * OVERSAMPLE).astype(np.float64)
_DELAY = 6  # (len(_INTERP) - 1) / 2 samples at 4x = 6 samples at 1x
_HEADROOM = db_to_gain(-4.0)  # inter-sample peaks more than 4 dB over the sample peaks do not occur


def peak_envelope(x: NDArray[np.floating], threshold: float = 0.0) -> NDArray[np.float64]:
    """Per-sample true-peak estimate: |x| and its 4x oversampled values between samples (BS.1770 annex 2).

    Only frames whose sample peak exceeds `threshold` are oversampled (the rest keep |x|): the caller
    passes a threshold some dB below the level that matters, which keeps long programmes cheap.
    """
    data = np.asarray(x, dtype=np.float64)
    env = np.abs(data)
    if data.size == 0:
        return env
    n_frames = -(-data.size // _FRAME)
    padded = np.zeros(n_frames * _FRAME)
    padded[: data.size] = env
    hot = padded.reshape(n_frames, _FRAME).max(axis=1) > threshold
    edges = np.flatnonzero(np.diff(np.concatenate([[0], hot.astype(np.int8), [0]])))
    for first, last in zip(edges[::2], edges[1::2], strict=True):
        lo, hi = int(first) * _FRAME, min(data.size, int(last) * _FRAME)
        seg = data[max(0, lo - 16) : min(data.size, hi + 16)]
        offset = lo - max(0, lo - 16)
        for phase in range(1, OVERSAMPLE):
            inter = np.abs(np.convolve(seg, _INTERP[phase::OVERSAMPLE]))[_DELAY : _DELAY + seg.size]
            np.maximum(env[lo:hi], inter[offset : offset + hi - lo], out=env[lo:hi])
    return env


class TruePeakMeter:
    """Streaming true peak; keeps a little of the previous block so block edges are oversampled too."""

    CONTEXT = 64

    def __init__(self) -> None:
        self._tail = np.zeros(0, dtype=np.float64)
        self.peak = 0.0

    def feed(self, x: NDArray[np.floating]) -> None:
        data = np.concatenate([self._tail, np.asarray(x, dtype=np.float64)])
        if data.size:
            sample_peak = float(np.max(np.abs(data)))
            threshold = max(self.peak, sample_peak) * _HEADROOM
            self.peak = max(self.peak, float(peak_envelope(data, threshold).max()))
        self._tail = data[-self.CONTEXT :]

    @property
    def dbtp(self) -> float:
        return gain_to_db(self.peak)


def true_peak_dbtp(x: NDArray[np.floating]) -> float:
    meter = TruePeakMeter()
    meter.feed(x)
    return meter.dbtp if np.size(x) else float("-inf")


def limiter_gain(
    x: NDArray[np.floating],
    ceiling: float,
    rate: int = SAMPLE_RATE,
    *,
    true_peak: bool = True,
    attack_s: float = LIMITER_ATTACK_S,
    hold_s: float = LIMITER_HOLD_S,
) -> NDArray[np.float64]:
    """Gain (<= 1) that keeps the true peak of x*gain at or under `ceiling`, smooth over a few ms.

    `true_peak=False` limits sample peaks only (cheaper; for shaping before the final master).
    Minimum over [n-(A+H), n+(A+H)] then a moving average over [n-A, n+A]: every value averaged at n was a
    minimum over a window containing n, so the smoothed gain never exceeds what sample n needs.
    """
    attack, hold = round(attack_s * rate), round(hold_s * rate)
    peaks = peak_envelope(x, ceiling * _HEADROOM) if true_peak else np.abs(np.asarray(x, dtype=np.float64))
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if need.min() >= 1.0:
        return np.ones_like(need)
    held = minimum_filter1d(need, size=2 * (attack + hold) + 1, mode="nearest")
    smooth = uniform_filter1d(held, size=2 * attack + 1, mode="nearest")
    return np.asarray(np.minimum(smooth, need), dtype=np.float64)


def limiter_margin(rate: int = SAMPLE_RATE) -> int:
    """Samples of context each side a block needs for its limiter gain to equal the whole-signal gain."""
    return round((2 * LIMITER_ATTACK_S + LIMITER_HOLD_S) * rate) + 256


def master(
    source: Path,
    sink: Callable[[Samples], None],
    *,
    gain_db: float,
    ceiling_dbtp: float,
    block: int = BLOCK,
) -> TruePeakMeter:
    """Stream `source` (raw float32) through gain and the true-peak limiter into `sink`, block by block."""
    total = pcm_length(source)
    gain, ceiling, margin = db_to_gain(gain_db), db_to_gain(ceiling_dbtp), limiter_margin()
    meter = TruePeakMeter()
    for start in range(0, total, block):
        count = min(block, total - start)
        context = read_pcm(source, start - margin, count + 2 * margin).astype(np.float64) * gain
        out = (context * limiter_gain(context, ceiling))[margin : margin + count].astype(np.float32)
        meter.feed(out)
        sink(out)
    return meter
