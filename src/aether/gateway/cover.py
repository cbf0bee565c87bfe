"""A show's cover art, drawn procedurally (1400x1400 PNG, the smallest size podcast directories accept)
from its title and guid; cached in memory."""

from __future__ import annotations

import hashlib
import io
import textwrap
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

SIZE = 1400


@lru_cache(maxsize=256)
def show_cover(title: str, seed: str) -> tuple[bytes, str]:
    """(PNG bytes, ETag)."""
    digest = hashlib.sha256(f"{seed}:{title}".encode()).digest()
    top = (digest[0] // 2 + 20, digest[1] // 2 + 20, digest[2] // 2 + 60)
    bottom = (digest[3] // 3, digest[4] // 3, digest[5] // 3 + 30)
    image = Image.new("RGB", (SIZE, SIZE), top)
    draw = ImageDraw.Draw(image)
    for y in range(0, SIZE, 4):
        t = y / SIZE
        colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.rectangle((0, y, SIZE, y + 4), fill=colour)
    for i in range(6):
        r = 120 + digest[6 + i] * 2
        x, y = digest[12 + i] * 5, digest[18 + i] * 5
        draw.ellipse((x - r, y - r, x + r, y + r), outline=(255, 255, 255), width=6)
    try:
        font = ImageFont.load_default(size=110)
    except TypeError:  # Pillow without FreeType sizes
        font = ImageFont.load_default()
    lines = textwrap.wrap(title, width=18)[:5]
    y = SIZE - 180 - 130 * len(lines)
    for line in lines:
        draw.text((100, y), line, fill=(255, 255, 255), font=font)
        y += 130
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    data = out.getvalue()
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
