"""Videos of an episode, rendered by ffmpeg (the `imageio-ffmpeg` binary): H.264 + AAC MP4 with
`+faststart` (the index up front, so players start before the download ends).

* landscape 1920x1080: a still frame composed with Pillow (the cover, a blurred backdrop, show and
  episode titles), ffmpeg's animated waveform of the audio, a progress bar that fills with time, and
  the transcript's lines as captions;
* vertical 1080x1920, at most 60 s: the same elements stacked, cut from the strongest segment.

Captions are images drawn with the same font as the cover (one transparent PNG per caption, played by
ffmpeg's concat demuxer with each caption's duration), so no system fonts are needed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from aether.errors import FfmpegError
from aether.media.ffmpeg import ffmpeg_exe
from aether.media.fonts import font, wrap
from aether.media.transcript import Cue

ACCENT = "0xF5A623"
CAPTION_MAX_CHARS = 110  # longer lines are split into several captions, timed by their share of text
CLIP_FADE_S = 0.5
WAVE_RATE = 11025  # sample rate the animated waveform is drawn from


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    cover_box: tuple[int, int, int]  # x, y, side
    text_box: tuple[int, int, int]  # x, y, width of the titles
    wave_box: tuple[int, int, int, int]  # x, y, w, h
    caption_box: tuple[int, int, int, int]  # x, y, w, h
    caption_px: int
    title_px: int
    show_px: int


LANDSCAPE = Layout(1920, 1080, (110, 110, 700), (900, 150, 910), (900, 560, 920, 220), (0, 860, 1920, 190), 46, 64, 34)
VERTICAL = Layout(1080, 1920, (140, 230, 800), (90, 1090, 900), (90, 1380, 900, 200), (0, 1600, 1080, 260), 52, 60, 36)


@dataclass(frozen=True)
class VideoSpec:
    fps: int = 6
    preset: str = "ultrafast"
    crf: int = 27
    audio_bitrate_kbps: int = 128


# ---- stills ---------------------------------------------------------------------------------------
def _backdrop(cover: Image.Image, width: int, height: int) -> Image.Image:
    """The cover scaled to fill the frame, blurred and darkened (blurred small, then scaled up)."""
    small_w, small_h = max(1, width // 8), max(1, height // 8)
    side = max(small_w, small_h)
    fill = cover.resize((side, side), Image.Resampling.BILINEAR)
    left, top = (side - small_w) // 2, (side - small_h) // 2
    fill = fill.crop((left, top, left + small_w, top + small_h)).filter(ImageFilter.GaussianBlur(6))
    fill = Image.blend(fill, Image.new("RGB", fill.size, (0, 0, 0)), 0.55)
    return fill.resize((width, height), Image.Resampling.BICUBIC)


def compose_still(
    cover: Image.Image, layout: Layout, title: str, show_title: str | None, font_path: Path | None
) -> Image.Image:
    frame = _backdrop(cover.convert("RGB"), layout.width, layout.height)
    x, y, side = layout.cover_box
    frame.paste(cover.convert("RGB").resize((side, side), Image.Resampling.LANCZOS), (x, y))
    draw = ImageDraw.Draw(frame)
    tx, ty, tw = layout.text_box
    if show_title:
        draw.text((tx, ty), show_title.upper(), font=font(layout.show_px, font_path), fill=(245, 166, 35))
        ty += int(layout.show_px * 1.8)
    title_face = font(layout.title_px, font_path)
    for line in wrap(title, title_face, tw)[:4]:
        draw.text((tx, ty), line, font=title_face, fill=(255, 255, 255))
        ty += int(layout.title_px * 1.2)
    wx, wy, ww, wh = layout.wave_box
    draw.rounded_rectangle((wx - 20, wy - 20, wx + ww + 20, wy + wh + 20), radius=24, fill=(0, 0, 0))
    draw.rectangle((0, layout.height - 12, layout.width, layout.height), fill=(60, 60, 60))
    return frame


def caption_chunks(cue: Cue) -> list[Cue]:
    """A long line as several captions, each timed by its share of the characters."""
    text = f"{cue.speaker}: {cue.text}" if cue.speaker else cue.text
    words, chunks, current = text.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > CAPTION_MAX_CHARS:
            chunks.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        chunks.append(current)
    total = sum(len(c) for c in chunks) or 1
    out, start = [], cue.start
    for chunk in chunks:
        end = start + (cue.end - cue.start) * len(chunk) / total
        out.append(Cue(start, end, chunk))
        start = end
    return out


def caption_image(text: str, layout: Layout, font_path: Path | None) -> Image.Image:
    _, _, w, h = layout.caption_box
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    if not text:
        return image
    face = font(layout.caption_px, font_path)
    lines = wrap(text, face, w - 160)[:3]
    line_h = int(layout.caption_px * 1.25)
    block_h = line_h * len(lines)
    widest = max(int(face.getlength(line)) for line in lines)
    draw = ImageDraw.Draw(image)
    top = (h - block_h) // 2
    left = (w - widest) // 2
    draw.rounded_rectangle(
        (left - 28, top - 16, left + widest + 28, top + block_h + 12), radius=18, fill=(0, 0, 0, 170)
    )
    for index, line in enumerate(lines):
        lw = int(face.getlength(line))
        draw.text(((w - lw) // 2, top + index * line_h), line, font=face, fill=(255, 255, 255, 255))
    return image


def write_captions(
    cues: Sequence[Cue], layout: Layout, folder: Path, *, duration: float, offset: float = 0.0, font_path: Path | None
) -> Path:
    """PNG captions and an ffconcat playlist that shows each for its cue's time (blank in between)."""
    folder.mkdir(parents=True, exist_ok=True)
    blank = folder / "blank.png"
    caption_image("", layout, font_path).save(blank)
    entries: list[tuple[Path, float]] = []
    clock = 0.0
    number = 0
    for cue in cues:
        for part in caption_chunks(cue):
            start, end = max(0.0, part.start - offset), min(duration, part.end - offset)
            if end <= start or end <= clock:
                continue
            if start > clock:
                entries.append((blank, start - clock))
                clock = start
            number += 1
            path = folder / f"c{number:05d}.png"
            caption_image(part.text, layout, font_path).save(path, optimize=False, compress_level=1)
            entries.append((path, end - clock))
            clock = end
    if clock < duration:
        entries.append((blank, duration - clock))
    playlist = folder / "captions.ffconcat"
    lines = ["ffconcat version 1.0"]
    for path, length in entries:
        lines += [f"file '{path.name}'", f"duration {length:.3f}"]
    lines.append(f"file '{entries[-1][0].name}'" if entries else "file 'blank.png'")
    playlist.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return playlist


# ---- ffmpeg -----------------------------------------------------------------------------------------
def ffmpeg_args(
    still: Path,
    audio: Path,
    captions: Path,
    out: Path,
    layout: Layout,
    spec: VideoSpec,
    *,
    duration: float,
    audio_start: float = 0.0,
    fade: bool = False,
    metadata: Mapping[str, str] | None = None,
) -> list[str]:
    """ffmpeg's arguments for one video; `metadata` become the MP4's tags (title, album, artist)."""
    wx, wy, ww, wh = layout.wave_box
    cx, cy, _, _ = layout.caption_box
    fps = spec.fps
    audio_filter = "anull"
    if fade:
        audio_filter = (
            f"afade=t=in:d={CLIP_FADE_S},afade=t=out:st={max(0.0, duration - CLIP_FADE_S):.3f}:d={CLIP_FADE_S}"
        )
    graph = ";".join(
        [
            f"[0:v]format=yuv420p,loop=loop=-1:size=1:start=0,fps={fps},trim=duration={duration:.3f}[bg]",
            f"[1:a]{audio_filter},asplit=2[aout][awave]",
            # the waveform is drawn from 11.025 kHz (a few samples per pixel column still): a fifth of the
            # video's CPU time less than from 44.1 kHz, and the picture looks the same
            f"[awave]aresample={WAVE_RATE},showwaves=s={ww}x{wh}:mode=cline:rate={fps}:scale=sqrt:colors=0xFFFFFF,"
            "format=yuv420p[wave]",
            f"[bg][wave]overlay=x={wx}:y={wy}:format=yuv420:shortest=1[v1]",
            "[2:v]format=yuva420p[caps]",
            f"[v1][caps]overlay=x={cx}:y={cy}:format=yuv420:eof_action=repeat[v2]",
            f"[v2][3:v]overlay=x='(t/{duration:.3f}-1)*w':y=H-12:format=yuv420:shortest=1[v]",
        ]
    )
    seek = ["-ss", f"{audio_start:.3f}", "-t", f"{duration:.3f}"] if audio_start > 0 or fade else []
    tags = [arg for key, value in (metadata or {}).items() if value for arg in ("-metadata", f"{key}={value}")]
    return [
        "-framerate", str(fps), "-i", str(still),
        *seek, "-i", str(audio),
        "-f", "concat", "-safe", "0", "-i", str(captions),
        "-f", "lavfi", "-i", f"color=c={ACCENT}:s={layout.width}x12:r={fps}",
        "-filter_complex", graph,
        "-map", "[v]", "-map", "[aout]",
        "-c:v", "libx264", "-preset", spec.preset, "-tune", "stillimage", "-crf", str(spec.crf),
        "-pix_fmt", "yuv420p", "-r", str(fps), "-g", str(fps * 10),
        "-c:a", "aac", "-b:a", f"{spec.audio_bitrate_kbps}k", "-ar", "44100",
        "-t", f"{duration:.3f}", "-movflags", "+faststart", *tags,
        str(out),
    ]  # fmt: skip


def start_ffmpeg(args: list[str], log: Path) -> tuple[subprocess.Popen[bytes], Path]:
    handle = log.open("wb")
    proc = subprocess.Popen(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args],
        stdout=subprocess.DEVNULL,
        stderr=handle,
    )
    handle.close()
    return proc, log


def wait_ffmpeg(proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    code = proc.wait()
    if code != 0:
        raise FfmpegError(f"rendering the {what} failed ({code}): {log.read_text(errors='replace').strip()[-1200:]}")


# ---- the clip ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClipWindow:
    start: float
    end: float
    segment: int | None

    @property
    def duration(self) -> float:
        return self.end - self.start


def strongest_window(cues: Sequence[Cue], kinds: Sequence[str] | None, max_s: float) -> ClipWindow:
    """The clip: the opening (at most `max_s`) of the strongest segment.

    A segment's strength is its speech density plus emphasis: words per second of speech, with each `!`
    counting three words and each `?` two; topic segments win over intro and outro at equal strength
    (they are weighted 1.0 against 0.6)."""
    speech = [c for c in cues if c.is_speech]
    if not speech:
        raise ValueError("the transcript has no spoken lines")
    segments = sorted({c.segment for c in speech if c.segment is not None})
    groups: dict[int | None, list[Cue]] = {s: [c for c in speech if c.segment == s] for s in segments}
    if not groups:
        groups = {None: speech}
    best: tuple[float, int | None] | None = None
    for segment, group in groups.items():
        spoken = sum(c.end - c.start for c in group) or 1e-9
        emphasis = sum(len(c.text.split()) + 3 * c.text.count("!") + 2 * c.text.count("?") for c in group)
        weight = 1.0 if kinds is None or segment is None or kinds[segment] == "topic" else 0.6
        score = weight * emphasis / spoken
        if best is None or score > best[0]:
            best = (score, segment)
    assert best is not None
    group = groups[best[1]]
    start = max(0.0, group[0].start - 0.3)
    end = start
    for cue in group:
        if cue.end + 0.4 - start > max_s:
            break
        end = cue.end + 0.4
    if end <= start:  # one line longer than the clip: cut it
        end = start + max_s
    return ClipWindow(round(start, 3), round(min(end, start + max_s), 3), best[1])
