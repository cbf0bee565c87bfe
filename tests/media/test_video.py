"""Video building blocks: the clip window, caption timing, the still frames."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from aether.media.transcript import Cue
from aether.media.video import LANDSCAPE, VERTICAL, caption_chunks, compose_still, strongest_window, write_captions


def _cues() -> list[Cue]:
    return [
        Cue(0.0, 2.0, "[Music]"),
        Cue(2.0, 4.0, "Hello and welcome.", "Alex", 0),
        Cue(5.0, 30.0, "A calm explanation of things " * 4, "Sam", 1),
        Cue(32.0, 50.0, "Wow! Really? This is huge! Incredible!", "Alex", 2),
        Cue(51.0, 80.0, "And it goes on and on and on, " * 6, "Sam", 2),
        Cue(82.0, 85.0, "Bye!", "Alex", 3),
    ]


def test_strongest_window_prefers_dense_emphatic_topics() -> None:
    kinds = ["intro", "topic", "topic", "outro"]
    window = strongest_window(_cues(), kinds, 60.0)
    assert window.segment == 2 and window.start == 31.7
    assert window.duration <= 60.0 and window.end == 80.4
    short = strongest_window(_cues(), kinds, 20.0)
    assert short.duration <= 20.0 and short.end == 50.4


def test_long_lines_become_timed_caption_chunks() -> None:
    cue = Cue(10.0, 20.0, "word " * 60, "Sam")
    chunks = caption_chunks(cue)
    assert len(chunks) >= 3 and chunks[0].start == 10.0 and abs(chunks[-1].end - 20.0) < 1e-9
    assert all(len(c.text) <= 110 for c in chunks) and chunks[0].text.startswith("Sam: ")


def test_caption_playlist_covers_the_whole_duration(tmp_path: Path) -> None:
    playlist = write_captions(_cues(), LANDSCAPE, tmp_path, duration=86.0, font_path=None)
    lines = playlist.read_text().splitlines()
    durations = [float(line.split()[1]) for line in lines if line.startswith("duration")]
    assert abs(sum(durations) - 86.0) < 0.01
    assert Image.open(tmp_path / "c00001.png").size == (1920, 190)


def test_stills_have_the_frame_sizes() -> None:
    cover = Image.new("RGB", (3000, 3000), (90, 20, 140))
    assert compose_still(cover, LANDSCAPE, "Title", "Show", None).size == (1920, 1080)
    assert compose_still(cover, VERTICAL, "Title", None, None).size == (1080, 1920)
