"""Cover art drawn procedurally with Pillow: 3000x3000 RGB (podcast directories accept 1400-3000 px
squares), deterministic per topic (colours and motif follow from a hash of the title), the title set
large in a scalable font on a dark band so it stays readable when shrunk to 200x200."""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from aether.media.fonts import font, wrap

SIZE = 3000
SHOW_SIZE = 1400  # a show's own cover: the smallest size podcast directories accept
MARGIN = 200
TITLE_MAX_PX = 330
TITLE_MIN_PX = 170  # 170 px at 3000 is 11 px at 200: still legible
TITLE_MAX_LINES = 4
MOTIFS = ("rings", "bars", "waves")


@dataclass(frozen=True)
class CoverLayout:
    motif: str
    title_px: int
    lines: list[str]
    band: tuple[int, int]  # top and bottom of the title band


def _palette(digest: bytes) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    hue = digest[0] / 255
    shift = 0.08 + (digest[1] % 40) / 100

    def rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
        r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
        return round(r * 255), round(g * 255), round(b * 255)

    return rgb(hue, 0.75, 0.55), rgb(hue + shift, 0.8, 0.25), rgb(hue + 0.5, 0.55, 1.0)


def _gradient(top: tuple[int, int, int], bottom: tuple[int, int, int], size: int) -> Image.Image:
    small = 256  # drawn small and scaled up: a smooth gradient needs no more
    ramp = np.linspace(0.0, 1.0, small)
    t = (ramp[:, None] * 0.7 + ramp[None, :] * 0.3)[..., None]
    pixels = np.asarray(top, dtype=np.float64) * (1 - t) + np.asarray(bottom, dtype=np.float64) * t
    return Image.fromarray(pixels.astype(np.uint8), "RGB").resize((size, size), Image.Resampling.BILINEAR)


def _motif(draw: ImageDraw.ImageDraw, motif: str, digest: bytes, accent: tuple[int, int, int], size: int) -> None:
    rng = np.random.default_rng(int.from_bytes(digest[8:16], "big"))
    colour = (*accent, 120)
    k = size / SIZE  # the motif is drawn at a fraction of the cover's size
    if motif == "rings":
        cx, cy = size * (0.55 + rng.random() * 0.3), size * (0.2 + rng.random() * 0.25)
        for index in range(14):
            radius = (140 + index * (90 + digest[2] % 60)) * k
            width = max(1, int((10 + int(rng.integers(0, 26))) * k))
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=colour, width=width)
    elif motif == "bars":
        count = 24 + digest[3] % 16
        step = (size - 2 * MARGIN * k) / count
        base = size * 0.58
        for index in range(count):
            height = (0.15 + 0.85 * abs(math.sin(index * 0.45 + digest[4] / 40)) * rng.random()) * size * 0.45
            x = MARGIN * k + index * step
            draw.rounded_rectangle((x, base - height, x + step * 0.62, base), radius=int(step * 0.3), fill=colour)
    else:
        for index in range(9):
            amplitude = (60 + int(rng.integers(0, 180))) * k
            wavelength = (500 + int(rng.integers(0, 900))) * k
            phase = rng.random() * math.tau
            y0 = size * (0.12 + index * 0.06)
            points = [
                (x, y0 + amplitude * math.sin(phase + math.tau * x / wavelength)) for x in range(0, size + 14, 14)
            ]
            draw.line(points, fill=colour, width=max(1, int((14 + index * 2) * k)), joint="curve")


def _fit_title(title: str, width: int, font_path: Path | None) -> tuple[int, list[str]]:
    for px in range(TITLE_MAX_PX, TITLE_MIN_PX - 1, -10):
        lines = wrap(title, font(px, font_path), width)
        if len(lines) <= TITLE_MAX_LINES and all(font(px, font_path).getlength(ln) <= width for ln in lines):
            return px, lines
    face = font(TITLE_MIN_PX, font_path)
    lines = wrap(title, face, width)[:TITLE_MAX_LINES]
    while face.getlength(lines[-1] + "…") > width and " " in lines[-1]:
        lines[-1] = lines[-1].rsplit(" ", 1)[0]
    if len(wrap(title, face, width)) > TITLE_MAX_LINES:
        lines[-1] += "…"
    return TITLE_MIN_PX, lines


def draw_title(image: Image.Image, title: str, show_title: str | None, font_path: Path | None) -> CoverLayout:
    """Set the show name at the top and the title on a dark band at the bottom (in place)."""
    size = image.width
    scale = size / SIZE
    width = int((SIZE - 2 * MARGIN) * scale)
    title_px, lines = _fit_title(title, int(SIZE - 2 * MARGIN), font_path)
    title_px = max(1, int(title_px * scale))
    face = font(title_px, font_path)
    line_h = int(title_px * 1.18)
    band_bottom = size - int(MARGIN * scale)
    band_top = band_bottom - line_h * len(lines) - int(160 * scale)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rounded_rectangle(
        (int(MARGIN * scale) - int(60 * scale), band_top, size - int(MARGIN * scale) + int(60 * scale), band_bottom),
        radius=int(60 * scale),
        fill=(8, 10, 18, 200),
    )
    image.paste(Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB"))
    draw_rgb = ImageDraw.Draw(image)
    y = band_top + int(80 * scale)
    for line in lines:
        draw_rgb.text((int(MARGIN * scale), y), line, font=face, fill=(255, 255, 255))
        y += line_h
    if show_title:
        show_px = max(1, int(130 * scale))
        show_face = font(show_px, font_path)
        label = show_title.upper()
        while show_face.getlength(label) > width and len(label) > 4:
            label = label[:-2].rstrip() + "…"
        draw_rgb.text(
            (int(MARGIN * scale), int(MARGIN * scale)),
            label,
            font=show_face,
            fill=(255, 255, 255),
            stroke_width=max(1, int(4 * scale)),
            stroke_fill=(0, 0, 0),
        )
    return CoverLayout("", title_px, lines, (band_top, band_bottom))


def draw_cover(
    title: str, show_title: str | None = None, *, seed: str | None = None, font_path: Path | None = None
) -> tuple[Image.Image, CoverLayout]:
    """The cover of `title`; the same title (or seed) always gives the same image."""
    digest = hashlib.sha256((seed or f"{show_title or ''}|{title}").encode("utf-8")).digest()
    top, bottom, accent = _palette(digest)
    image = _gradient(top, bottom, SIZE).convert("RGBA")
    motif_size = SIZE // 3  # drawn at a third and scaled up: soft edges without a blur pass
    layer = Image.new("RGBA", (motif_size, motif_size), (0, 0, 0, 0))
    motif = MOTIFS[digest[5] % len(MOTIFS)]
    _motif(ImageDraw.Draw(layer), motif, digest, accent, motif_size)
    layer = layer.resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    cover = Image.alpha_composite(image, layer).convert("RGB")
    layout = draw_title(cover, title, show_title, font_path)
    return cover, CoverLayout(motif, layout.title_px, layout.lines, layout.band)


def finish_generated(data: bytes, title: str, show_title: str | None, font_path: Path | None) -> Image.Image:
    """A generated picture (any size) as a 3000x3000 cover with the title set on it."""
    with Image.open(io.BytesIO(data)) as raw:
        picture = raw.convert("RGB")
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    square = picture.crop((left, top, left + side, top + side)).resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    draw_title(square, title, show_title, font_path)
    return square


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


@lru_cache(maxsize=256)
def show_cover_png(title: str, seed: str) -> bytes:
    """A show's cover: the drawn cover of its title, SHOW_SIZE square, as PNG (cached in memory)."""
    image, _ = draw_cover(title, seed=seed)
    out = io.BytesIO()
    image.resize((SHOW_SIZE, SHOW_SIZE), Image.Resampling.LANCZOS).save(out, format="PNG")
    return out.getvalue()
