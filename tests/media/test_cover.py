"""Procedural cover art: size, determinism, a title big enough to read at 200x200."""

from __future__ import annotations

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


def test_motif_and_colours_follow_the_topic() -> None:
    motifs = {draw_cover(f"Topic {i}")[1].motif for i in range(8)}
    assert len(motifs) >= 2
