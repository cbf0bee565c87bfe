"""Encoders fed block by block: MP3 with LAME (`lameenc`, 44.1 kHz mono CBR) and Ogg Opus with
ffmpeg's libopus (PCM piped to its stdin). `BackgroundSink` runs either on its own thread (LAME and pipe
writes release the GIL), so both encode on other cores while the caller computes the next block.

The MP3 starts with a Xing "Info" frame (what LAME writes for CBR when it can seek back in its file):
the number of audio frames and bytes and a seek table, so that players know the duration instead of
estimating it. `lameenc` does not write one, so `Mp3Sink` reserves the first frame and fills it on close.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import lameenc
import numpy as np

from aether.errors import FfmpegError
from aether.media.audio import SAMPLE_RATE, Samples, to_int16
from aether.media.ffmpeg import ffmpeg_exe

# MPEG-1 Layer III: bitrate index by kbps; 1152 samples a frame; mono side information is 17 bytes.
MPEG1_BITRATES = {
    32: 1,
    40: 2,
    48: 3,
    56: 4,
    64: 5,
    80: 6,
    96: 7,
    112: 8,
    128: 9,
    160: 10,
    192: 11,
    224: 12,
    256: 13,
    320: 14,
}
MPEG1_SAMPLE_RATES = {44100: 0, 48000: 1, 32000: 2}
SIDE_INFO_MONO = 17
XING_FRAMES, XING_BYTES, XING_TOC, XING_QUALITY = 1, 2, 4, 8


def mp3_frame_size(bitrate_kbps: int, sample_rate: int, padding: int = 0) -> int:
    return 144 * bitrate_kbps * 1000 // sample_rate + padding


def count_mp3_frames(data: bytes) -> int:
    """The MPEG-1 Layer III frames in `data`, walked header by header from its start."""
    frames = offset = 0
    rates = {index: rate for rate, index in MPEG1_SAMPLE_RATES.items()}
    bitrates = {index: kbps for kbps, index in MPEG1_BITRATES.items()}
    while offset + 4 <= len(data):
        b1, b2 = data[offset + 1], data[offset + 2]
        if data[offset] != 0xFF or b1 & 0xFE != 0xFA or (b2 >> 4) not in bitrates or (b2 >> 2) & 3 not in rates:
            break
        offset += mp3_frame_size(bitrates[b2 >> 4], rates[(b2 >> 2) & 3], (b2 >> 1) & 1)
        frames += 1
    return frames


def info_frame(bitrate_kbps: int, sample_rate: int, frames: int, total_bytes: int) -> bytes:
    """A Xing "Info" frame (CBR) of one mono MPEG-1 Layer III frame: frame and byte counts, seek table."""
    size = mp3_frame_size(bitrate_kbps, sample_rate)
    header = bytes((0xFF, 0xFB, MPEG1_BITRATES[bitrate_kbps] << 4 | MPEG1_SAMPLE_RATES[sample_rate] << 2, 0xC4))
    toc = bytes(min(255, i * 256 // 100) for i in range(100))
    flags = XING_FRAMES | XING_BYTES | XING_QUALITY
    fields = frames.to_bytes(4, "big") + total_bytes.to_bytes(4, "big")
    tag_end = 4 + SIDE_INFO_MONO + 8 + len(fields) + len(toc) + 4
    if tag_end <= size:  # the seek table fits from 48 kbps up
        flags |= XING_TOC
        fields += toc
    tag = b"Info" + flags.to_bytes(4, "big") + fields + (50).to_bytes(4, "big")
    frame = header + bytes(SIDE_INFO_MONO) + tag
    return frame + bytes(size - len(frame))


class Mp3Sink:
    def __init__(self, path: Path, *, bitrate_kbps: int, quality: int = 5) -> None:
        bitrate_kbps = min(MPEG1_BITRATES, key=lambda kbps: abs(kbps - bitrate_kbps))  # as LAME rounds it
        self.path = path
        self.bitrate_kbps = bitrate_kbps
        self._encoder = lameenc.Encoder()
        self._encoder.set_bit_rate(bitrate_kbps)
        self._encoder.set_in_sample_rate(SAMPLE_RATE)
        self._encoder.set_out_sample_rate(SAMPLE_RATE)  # MPEG-1 frames, whose size the Info frame is
        self._encoder.set_channels(1)
        self._encoder.set_quality(quality)  # 2 = best, 7 = fastest
        self._handle = path.open("w+b")
        self._tag_size = mp3_frame_size(bitrate_kbps, SAMPLE_RATE)
        self._handle.write(bytes(self._tag_size))  # the Info frame's place, filled on close

    def __call__(self, block: Samples) -> None:
        self._handle.write(bytes(self._encoder.encode(to_int16(block).tobytes())))

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.write(bytes(self._encoder.flush()))
            total = self._handle.tell()
            self._handle.seek(self._tag_size)
            frames = count_mp3_frames(self._handle.read())
            self._handle.seek(0)
            self._handle.write(info_frame(self.bitrate_kbps, SAMPLE_RATE, frames, total))
            self._handle.close()

    def __enter__(self) -> Mp3Sink:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class OpusSink:
    def __init__(self, path: Path, *, bitrate_kbps: int) -> None:
        self.path = path
        self._log = path.with_name(path.name + ".log")
        self._log_handle = self._log.open("wb")
        self._proc = subprocess.Popen(
            [
                ffmpeg_exe(),
                "-hide_banner",
                "-nostdin",
                "-y",
                "-loglevel",
                "error",
                "-f",
                "f32le",
                "-ar",
                str(SAMPLE_RATE),
                "-ac",
                "1",
                "-i",
                "pipe:0",
                "-c:a",
                "libopus",
                "-b:a",
                f"{bitrate_kbps}k",
                "-vbr",
                "on",
                "-application",
                "audio",
                "-f",
                "ogg",
                str(path),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._log_handle,
        )

    def __call__(self, block: Samples) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(np.asarray(block, dtype=np.float32).tobytes())

    def close(self) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        code = self._proc.wait()
        self._log_handle.close()
        log = self._log.read_text(errors="replace").strip()
        self._log.unlink(missing_ok=True)
        if code != 0:
            raise FfmpegError(f"Opus encoding failed ({code}): {log[-800:]}")

    def abort(self) -> None:
        self._proc.kill()
        self._proc.wait()
        self._log_handle.close()
        self._log.unlink(missing_ok=True)

    def __enter__(self) -> OpusSink:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


class BackgroundSink:
    """A sink run on its own thread behind a short queue; `finish()` waits for it and raises its error.

    After an error the thread keeps draining (and dropping) blocks, so the caller never blocks on a full
    queue; the next call or `finish()` raises the error."""

    def __init__(self, sink: Callable[[Samples], None], *, name: str, depth: int = 4) -> None:
        self._sink = sink
        self._queue: queue.Queue[Samples | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (block := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._sink(block)
                except BaseException as exc:  # handed to the caller
                    self._error = exc

    def __call__(self, block: Samples) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(block)

    def finish(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error
