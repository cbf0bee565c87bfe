"""The encoders fed block by block, and BackgroundSink, which runs them on threads of their own."""

from __future__ import annotations

import threading
from pathlib import Path

import mutagen.mp3
import numpy as np
import pytest

from aether.media.audio import SAMPLE_RATE
from aether.media.encode import BackgroundSink, Mp3Sink, OpusSink, count_mp3_frames, mp3_frame_size
from aether.media.ffmpeg import decode_pcm


def test_background_sink_keeps_order_and_runs_on_its_own_thread() -> None:
    seen: list[tuple[float, str]] = []
    sink = BackgroundSink(lambda b: seen.append((float(b[0]), threading.current_thread().name)), name="bg-test")
    for i in range(50):
        sink(np.full(10, i, dtype=np.float32))
    sink.finish()
    assert [v for v, _ in seen] == list(range(50))
    assert {name for _, name in seen} == {"bg-test"}


def test_background_sink_hands_the_error_back_without_blocking() -> None:
    def failing(block: np.ndarray) -> None:
        if block[0] >= 3:
            raise BrokenPipeError("the encoder went away")

    sink = BackgroundSink(failing, name="bg-fail", depth=1)
    with pytest.raises(BrokenPipeError, match="went away"):
        for i in range(1000):  # far more than the queue holds: the caller must not hang
            sink(np.full(4, i, dtype=np.float32))
        sink.finish()
    with pytest.raises(BrokenPipeError):
        sink.finish()


def test_encoders_on_background_threads_write_decodable_files(tmp_path: Path) -> None:
    rate = 44100
    t = np.arange(rate * 3) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    mp3, opus = tmp_path / "x.mp3", tmp_path / "x.opus"
    with Mp3Sink(mp3, bitrate_kbps=96) as a, OpusSink(opus, bitrate_kbps=48) as b:
        to_a, to_b = BackgroundSink(a, name="lame"), BackgroundSink(b, name="opus")
        for start in range(0, tone.size, 4096):
            to_a(tone[start : start + 4096])
            to_b(tone[start : start + 4096])
        to_a.finish()
        to_b.finish()
    for path in (mp3, opus):
        decoded = np.concatenate(list(decode_pcm(path)))
        assert abs(decoded.size / rate - 3.0) < 0.1, path
        assert 0.25 < float(np.max(np.abs(decoded))) < 0.35, path


@pytest.mark.parametrize("kbps", [32, 96, 128])
def test_mp3_starts_with_a_xing_info_frame_that_counts_its_frames(tmp_path: Path, kbps: int) -> None:
    mp3 = tmp_path / "tone.mp3"
    seconds = 2.5
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    with Mp3Sink(mp3, bitrate_kbps=kbps) as sink:
        sink((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
    data = mp3.read_bytes()
    # the first frame: MPEG-1 Layer III, 44.1 kHz, mono, this bitrate; "Info" after 4 + 17 bytes
    assert data[:2] == b"\xff\xfb" and data[3] >> 6 == 0b11
    assert data[21:25] == b"Info"
    flags = int.from_bytes(data[25:29], "big")
    frames = int.from_bytes(data[29:33], "big")
    size = int.from_bytes(data[33:37], "big")
    first = mp3_frame_size(kbps, SAMPLE_RATE)
    assert flags & 0b11 == 0b11 and size == len(data)
    assert frames == count_mp3_frames(data[first:]) and frames * 1152 >= len(t)
    info = mutagen.mp3.MP3(mp3).info  # a reader that trusts the Info frame
    assert info.length == pytest.approx(frames * 1152 / SAMPLE_RATE)
    assert abs(info.length - seconds) < 0.1
