"""Audio basics: the house format (mono float32 at 44.1 kHz), PCM files streamed to and from disk in
blocks (so an hour of audio never sits in memory at once), resampling, levels, 16-bit WAV."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.signal import resample_poly

SAMPLE_RATE = 44100
BLOCK = SAMPLE_RATE * 10  # samples per block when streaming a file
Samples = NDArray[np.float32]


def seconds(n_samples: int) -> float:
    return n_samples / SAMPLE_RATE


def samples(duration_s: float) -> int:
    return round(duration_s * SAMPLE_RATE)


def db_to_gain(db: float) -> float:
    return float(10 ** (db / 20))


def gain_to_db(gain: float) -> float:
    return float(20 * np.log10(max(gain, 1e-12)))


def rms_db(x: NDArray[np.floating], floor_db: float = -50.0) -> float:
    """RMS level (dBFS) of the parts of `x` louder than `floor_db` (speech without its pauses)."""
    if x.size == 0:
        return -120.0
    frame = 441
    n = x.size // frame
    if n == 0:
        return gain_to_db(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))
    power = np.mean(np.square(x[: n * frame].reshape(n, frame), dtype=np.float64), axis=1)
    active = power[power > 10 ** (floor_db / 10)]
    if active.size == 0:
        return -120.0
    return float(10 * np.log10(np.mean(active)))


def resample(x: NDArray[np.floating], rate_in: float, rate_out: int = SAMPLE_RATE) -> Samples:
    """Band-limited polyphase resampling; `rate_in` may be fractional (a pitch-shifted voice)."""
    ratio = Fraction(rate_out / rate_in).limit_denominator(96)
    if ratio == 1:
        return np.asarray(x, dtype=np.float32)
    out = resample_poly(np.asarray(x, dtype=np.float32), ratio.numerator, ratio.denominator)
    return np.asarray(out, dtype=np.float32)


def effective_ratio(rate_in: float, rate_out: int = SAMPLE_RATE) -> float:
    """The exact rate_out/rate_in that `resample` applies (after its rational approximation)."""
    return float(Fraction(rate_out / rate_in).limit_denominator(96))


def trim_silence(x: Samples, threshold_db: float = -45.0, margin_s: float = 0.03) -> Samples:
    """Cut leading and trailing silence (relative to the peak), keeping a short margin."""
    if x.size == 0:
        return x
    peak = float(np.max(np.abs(x)))
    if peak <= 0:
        return x[:0]
    loud = np.flatnonzero(np.abs(x) > peak * db_to_gain(threshold_db))
    margin = samples(margin_s)
    return x[max(0, int(loud[0]) - margin) : min(x.size, int(loud[-1]) + margin + 1)]


class PcmWriter:
    """Appends mono float32 samples to a raw file; `position` is the number written so far."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("wb")
        self.position = 0

    def write(self, x: NDArray[np.floating]) -> None:
        data = np.asarray(x, dtype=np.float32)
        data.tofile(self._handle)
        self.position += data.size

    def silence(self, n: int) -> None:
        while n > 0:
            step = min(n, BLOCK)
            self.write(np.zeros(step, dtype=np.float32))
            n -= step

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> PcmWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def pcm_length(path: Path) -> int:
    return path.stat().st_size // 4


def read_pcm(path: Path, start: int, count: int) -> Samples:
    """Samples [start, start+count) of a raw float32 file; zeros outside it."""
    total = pcm_length(path)
    out = np.zeros(max(0, count), dtype=np.float32)
    lo, hi = max(0, start), min(total, start + count)
    if hi > lo:
        with path.open("rb") as handle:
            handle.seek(lo * 4)
            out[lo - start : hi - start] = np.fromfile(handle, dtype=np.float32, count=hi - lo)
    return out


def pcm_blocks(path: Path, block: int = BLOCK) -> Iterator[tuple[int, Samples]]:
    """(start, samples) blocks of a raw float32 file, in order."""
    total = pcm_length(path)
    with path.open("rb") as handle:
        for start in range(0, total, block):
            yield start, np.fromfile(handle, dtype=np.float32, count=min(block, total - start))


def to_int16(x: NDArray[np.floating]) -> NDArray[np.int16]:
    return np.asarray(np.clip(np.round(x * 32767.0), -32768, 32767), dtype=np.int16)


def wav_bytes(x: NDArray[np.floating], rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono WAV."""
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(to_int16(x).tobytes())
    return out.getvalue()


def read_wav(data: bytes) -> tuple[Samples, int]:
    """A PCM WAV (16-bit integer or 32-bit float) as mono float32 (channels averaged) and its rate.

    A streamed WAV whose header gives a placeholder length (0xFFFFFFFF, as speech APIs send) is read to
    its end. Anything else raises ValueError."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file (no RIFF/WAVE header)")
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        kind, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = data[pos + 8 : pos + 8 + size]
        if kind == b"fmt " and len(body) >= 16:
            code = int.from_bytes(body[0:2], "little")  # 1 = PCM, 3 = float
            if code == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's code
                code = int.from_bytes(body[24:26], "little")
            fmt = (
                code,
                int.from_bytes(body[2:4], "little"),
                int.from_bytes(body[4:8], "little"),
                int.from_bytes(body[14:16], "little"),
            )
        elif kind == b"data":
            if fmt is None:
                raise ValueError("WAV data before its fmt chunk")
            code, channels, rate, bits = fmt
            if channels < 1 or rate < 1000:
                raise ValueError(f"WAV with {channels} channels at {rate} Hz")
            dtype: np.dtype[Any]
            if code == 1 and bits == 16:
                width, dtype, scale = 2, np.dtype("<i2"), 32768.0
            elif code == 3 and bits == 32:
                width, dtype, scale = 4, np.dtype("<f4"), 1.0
            else:
                raise ValueError(f"only 16-bit PCM or 32-bit float WAV is supported (format {code}, {bits} bits)")
            usable = len(body) - len(body) % (width * channels)
            x = np.frombuffer(body[:usable], dtype=dtype).astype(np.float32) / scale
            if channels > 1:
                x = x.reshape(-1, channels).mean(axis=1)
            return np.asarray(x, dtype=np.float32), rate
        pos += 8 + size + (size & 1)
    raise ValueError("WAV without a data chunk")
