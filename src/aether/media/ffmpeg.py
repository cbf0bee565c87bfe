"""The ffmpeg binary of the `imageio-ffmpeg` wheel: running it, streaming PCM out of it, and reading a
file's streams and duration from `ffmpeg -i` (ffprobe is not shipped)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from aether.errors import FfmpegError
from aether.media.audio import SAMPLE_RATE, Samples


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run(args: list[str], *, timeout: float | None = None) -> None:
    """Run ffmpeg with `args` (after -hide_banner -nostdin -y); raise FfmpegError with its log on failure."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise FfmpegError(f"ffmpeg failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}")


def decode_pcm(path: Path, rate: int = SAMPLE_RATE, block: int = SAMPLE_RATE * 10) -> Iterator[Samples]:
    """Decode any audio file to mono float32 at `rate`, block by block."""
    proc = subprocess.Popen(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(path),
            "-vn",
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-f",
            "f32le",
            "pipe:1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        while True:
            data = proc.stdout.read(block * 4)
            if not data:
                break
            usable = len(data) - len(data) % 4
            yield np.frombuffer(data[:usable], dtype=np.float32)
    finally:
        proc.stdout.close()
        error = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if proc.wait() != 0:
            raise FfmpegError(f"cannot decode {path.name}: {error.strip()[-800:]}")


@dataclass(frozen=True)
class Stream:
    kind: str  # audio, video
    codec: str
    width: int | None = None
    height: int | None = None
    sample_rate: int | None = None
    channels: str | None = None
    fps: float | None = None


@dataclass(frozen=True)
class Probe:
    duration_s: float | None
    format: str
    streams: list[Stream] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Stream]:
        return [s for s in self.streams if s.kind == kind]


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_INPUT = re.compile(r"^Input #0, ([^,]+(?:,[^,]+)*?), from")
_STREAM = re.compile(r"Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: (Video|Audio): ([A-Za-z0-9_]+)(.*)$")
_SIZE = re.compile(r", (\d{2,5})x(\d{2,5})[ ,\[]")
_RATE = re.compile(r", (\d+) Hz, ([a-z0-9.()]+)")
_FPS = re.compile(r", (\d+(?:\.\d+)?) fps")
_TAG = re.compile(r"^\s{4}(\w[\w-]*)\s*: (.*)$")


def probe(path: Path) -> Probe:
    """Streams, duration and container tags of a media file, parsed from `ffmpeg -i`."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, text=True, check=False
    )
    log = proc.stderr
    if "Input #0" not in log:
        raise FfmpegError(f"cannot read {path.name}: {log.strip()[-500:]}")
    duration = None
    match = _DURATION.search(log)
    if match:
        hours, minutes, secs = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(secs)
    fmt = ""
    streams: list[Stream] = []
    tags: dict[str, str] = {}
    in_input_meta = False
    for line in log.splitlines():
        header = _INPUT.match(line)
        if header:
            fmt = header.group(1)
            continue
        if line.startswith("  Metadata:"):
            in_input_meta = not streams
            continue
        if line.startswith("  Duration:") or line.lstrip().startswith("Stream #"):
            in_input_meta = False
        tag = _TAG.match(line)
        if in_input_meta and tag:
            tags.setdefault(tag.group(1).lower(), tag.group(2).strip())
        found = _STREAM.search(line)
        if not found:
            continue
        kind, codec, rest = found.group(1).lower(), found.group(2), found.group(3)
        if kind == "video":
            size, fps = _SIZE.search(rest), _FPS.search(rest)
            streams.append(
                Stream(
                    kind,
                    codec,
                    width=int(size.group(1)) if size else None,
                    height=int(size.group(2)) if size else None,
                    fps=float(fps.group(1)) if fps else None,
                )
            )
        else:
            rate = _RATE.search(rest)
            streams.append(
                Stream(
                    kind,
                    codec,
                    sample_rate=int(rate.group(1)) if rate else None,
                    channels=rate.group(2) if rate else None,
                )
            )
    return Probe(duration, fmt, streams, tags)


def decoded_duration(path: Path, rate: int = SAMPLE_RATE) -> float:
    """Duration by decoding every sample (exact, unlike the container's estimate)."""
    return sum(block.size for block in decode_pcm(path, rate)) / rate
