"""Encoders fed block by block: MP3 with LAME (`lameenc`, 44.1 kHz mono CBR) and Ogg Opus with
ffmpeg's libopus (PCM piped to its stdin). `BackgroundSink` runs either on its own thread (LAME and pipe
writes release the GIL), so both encode on other cores while the caller computes the next block."""

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


class Mp3Sink:
    def __init__(self, path: Path, *, bitrate_kbps: int, quality: int = 5) -> None:
        self.path = path
        self._encoder = lameenc.Encoder()
        self._encoder.set_bit_rate(bitrate_kbps)
        self._encoder.set_in_sample_rate(SAMPLE_RATE)
        self._encoder.set_channels(1)
        self._encoder.set_quality(quality)  # 2 = best, 7 = fastest
        self._handle = path.open("wb")

    def __call__(self, block: Samples) -> None:
        self._handle.write(bytes(self._encoder.encode(to_int16(block).tobytes())))

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.write(bytes(self._encoder.flush()))
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
