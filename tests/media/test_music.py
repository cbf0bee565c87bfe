"""The generated music: deterministic per seed, different per show or topic, a seamless loop."""

from __future__ import annotations

import numpy as np

from aether.media.audio import SAMPLE_RATE, rms_db
from aether.media.music import bed_at, render_music, spec_for


def test_same_seed_same_music_other_seed_other_music() -> None:
    a, b = render_music("Show|Topic one"), render_music("Show|Topic one")
    assert np.array_equal(a.bed, b.bed) and np.array_equal(a.intro, b.intro)
    specs = {spec_for(f"Show|Topic {i}") for i in range(12)}
    assert len({(s.root, s.minor, s.progression, s.bpm) for s in specs}) >= 10


def test_bed_is_a_seamless_loop_at_a_sensible_level() -> None:
    parts = render_music("Aether Daily|Loops")
    bed = parts.bed
    assert 8 * SAMPLE_RATE < bed.size < 60 * SAMPLE_RATE
    assert abs(rms_db(bed, floor_db=-70) - (-20)) < 2.0
    assert np.max(np.abs(bed)) < 1.0
    # the jump across the loop point is no bigger than the signal's ordinary sample-to-sample steps
    steps = np.abs(np.diff(bed))
    assert abs(float(bed[0]) - float(bed[-1])) <= np.percentile(steps, 99.9)
    looped = bed_at(bed, bed.size - 10, 20)
    assert np.array_equal(looped[10:], bed[:10])


def test_stings_have_their_shapes() -> None:
    parts = render_music("Aether Daily|Stings")
    assert abs(parts.intro.size / SAMPLE_RATE - 3.2) < 0.01
    assert abs(parts.outro.size / SAMPLE_RATE - 4.2) < 0.01
    tail = parts.outro[-SAMPLE_RATE // 20 :]
    assert np.max(np.abs(tail)) < 0.05  # the outro fades out
