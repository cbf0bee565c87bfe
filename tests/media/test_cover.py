"""Procedural cover art: size, determinism, a title big enough to read at 200x200."""

from __future__ import annotations

import colorsys
import statistics

import numpy as np
from PIL import Image

from aether.media.cover import SIZE, draw_cover


def test_cover_layout_is_readable_small() -> None:
    image, layout = draw_cover("Quantum error correction milestones and what they mean", "Aether Daily")
    assert image.size == (SIZE, SIZE) and image.mode == "RGB"
    assert layout.title_px * 200 / SIZE >= 11  # at least 11 px tall letters at 200x200
    assert " ".join(layout.lines) == "Quantum error correction milestones and what they mean"
    small = image.resize((200, 200)).convert("L")
    top, bottom = layout.band[0] * 200 // SIZE, layout.band[1] * 200 // SIZE
    band = small.crop((20, top + 4, 180, bottom - 4))
    lo, hi = band.getextrema()
    assert hi - lo > 150  # white letters on the dark band survive the shrink


def test_very_long_titles_are_cut_to_four_lines() -> None:
    _, layout = draw_cover(" ".join(["extraordinarily"] * 30))
    assert len(layout.lines) <= 4 and layout.lines[-1].endswith("…")


def _background(image: Image.Image) -> tuple[float, float]:
    """Median hue and saturation of the cover's top part (above the title band, no show name)."""
    small = np.asarray(image.resize((30, 30)).crop((0, 0, 30, 12)), dtype=np.float64) / 255
    hsv = [colorsys.rgb_to_hsv(*pixel) for pixel in small.reshape(-1, 3)]
    return statistics.median(h for h, _, _ in hsv), statistics.median(s for _, s, _ in hsv)


def test_motif_and_colours_follow_the_topic() -> None:
    covers = [draw_cover(f"Topic {i}") for i in range(8)]
    assert len({layout.motif for _, layout in covers}) >= 2
    backgrounds = [_background(image) for image, _ in covers]
    # coloured, not grey, and the hue moves with the topic: at least 4 of 12 hue sectors among 8 topics
    assert all(saturation > 0.3 for _, saturation in backgrounds), backgrounds
    assert len({int(hue * 12) % 12 for hue, _ in backgrounds}) >= 4, backgrounds
    # the same topic always gets the same colours
    again, _ = draw_cover("Topic 3")
    assert again.tobytes() == covers[3][0].tobytes()
