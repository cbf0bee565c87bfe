"""Building blocks for agent tests: a TaskContext like the worker's, and small real media files."""

from __future__ import annotations

import math
import struct
from pathlib import Path

from aether.config import Settings
from aether.db import Database
from aether.queue.tasks import TaskContext


def task_context(
    db: Database, settings: Settings, *, task_id: int = 1, task_type: str = "test.task", agent: str = "test",
    attempt: int = 1, workflow_id: str | None = None,
) -> TaskContext:  # fmt: skip
    """A TaskContext wired as the worker wires it (side effects guarded by aether.idempotency.run_once)."""
    from aether.idempotency import run_once

    return TaskContext(
        task_id=task_id, task_type=task_type, agent=agent, attempt=attempt, settings=settings, db=db,
        workflow_id=workflow_id, once_impl=run_once,
    )  # fmt: skip


def write_mp3(path: Path, seconds: float = 2.0, rate: int = 22050) -> Path:
    """A real MP3 (a 440 Hz tone) encoded with lameenc."""
    import lameenc

    samples = [int(12000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(seconds * rate))]
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(7)
    data = encoder.encode(struct.pack(f"<{len(samples)}h", *samples)) + encoder.flush()
    path.write_bytes(bytes(data))
    return path


def write_cover(path: Path, size: int = 1400) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (20, 40, 90))
    ImageDraw.Draw(image).ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill=(240, 180, 30))
    image.save(path)
    return path
