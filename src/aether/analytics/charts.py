"""Charts drawn by the app itself as SVG (no chart library, no CDN): bars and lines with axes and labels.

Every text is escaped; the output is a standalone `<svg>` document that also embeds in HTML.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

PALETTE = ("#3b6fd8", "#e0892b", "#2e9e6a", "#c2415b", "#7a59c9", "#6b7280")
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 x 10^k)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _fmt(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _frame(title: str, width: int, height: int, body: list[str], series: Sequence[str]) -> str:
    legend = []
    x = 60
    for index, name in enumerate(series if len(series) > 1 else []):
        color = PALETTE[index % len(PALETTE)]
        legend.append(f'<rect x="{x}" y="30" width="10" height="10" fill="{color}"/>')
        legend.append(f'<text x="{x + 14}" y="39" {FONT}>{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title, {chr(34): "&quot;"})}">'
        f"<title>{escape(title)}</title>"
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
        f'<text x="{width // 2}" y="18" text-anchor="middle" font-family="system-ui, sans-serif" '
        f'font-size="14" font-weight="600">{escape(title)}</text>' + "".join(legend) + "".join(body) + "</svg>"
    )


def _axes(left: int, top: int, plot_w: int, plot_h: int, top_value: float) -> list[str]:
    parts = []
    for tick in range(5):
        value = top_value * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{_fmt(value)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#9ca3af"/>')
    return parts


def _label_every(count: int, room: float) -> int:
    return max(1, math.ceil(count * 40 / max(room, 1)))


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    width: int = 760,
    height: int = 300,
) -> str:
    """Grouped vertical bars: one group per label, one bar per series."""
    left, top, right, bottom = 56, 50, 16, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    names = list(series)
    top_value = _nice_max(max((v for values in series.values() for v in values), default=0))
    body = _axes(left, top, plot_w, plot_h, top_value)
    if not labels:
        body.append(f'<text x="{width // 2}" y="{top + plot_h // 2}" text-anchor="middle" {FONT}>no data</text>')
        return _frame(title, width, height, body, names)
    group = plot_w / len(labels)
    bar = max(1.0, group * 0.8 / max(1, len(names)))
    every = _label_every(len(labels), plot_w)
    for i, label in enumerate(labels):
        for j, name in enumerate(names):
            value = float(series[name][i])
            h = plot_h * value / top_value
            x = left + i * group + group * 0.1 + j * bar
            body.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(str(label))} · {escape(name)}: '
                f"{_fmt(value)}</title></rect>"
            )
        if i % every == 0:
            cx = left + i * group + group / 2
            short = str(label) if len(str(label)) <= 14 else str(label)[:13] + "…"
            body.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 14}" text-anchor="end" {FONT} '
                f'transform="rotate(-35 {cx:.1f} {top + plot_h + 14})">{escape(short)}</text>'
            )
    return _frame(title, width, height, body, names)


def line_chart(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    width: int = 760,
    height: int = 300,
) -> str:
    """One polyline per series over evenly spaced labels (days)."""
    left, top, right, bottom = 56, 50, 16, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    names = list(series)
    top_value = _nice_max(max((v for values in series.values() for v in values), default=0))
    body = _axes(left, top, plot_w, plot_h, top_value)
    count = len(labels)
    step = plot_w / max(1, count - 1)
    for j, name in enumerate(names):
        points = [
            f"{left + i * step:.1f},{top + plot_h - plot_h * float(v) / top_value:.1f}"
            for i, v in enumerate(series[name])
        ]
        if points:
            color = PALETTE[j % len(PALETTE)]
            body.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{" ".join(points)}"/>')
    every = _label_every(count, plot_w)
    for i, label in enumerate(labels):
        if i % every == 0:
            x = left + i * step
            body.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 14}" text-anchor="end" {FONT} '
                f'transform="rotate(-35 {x:.1f} {top + plot_h + 14})">{escape(str(label))}</text>'
            )
    if not labels:
        body.append(f'<text x="{width // 2}" y="{top + plot_h // 2}" text-anchor="middle" {FONT}>no data</text>')
    return _frame(title, width, height, body, names)
