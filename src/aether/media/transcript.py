"""The WebVTT transcript: one cue per spoken line with its real start and end time (`<v Speaker>`), plus
`[Music]` cues for the intro and outro so the transcript covers the whole episode."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aether.errors import ValidationFailed

MUSIC = "[Music]"


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str
    speaker: str | None = None
    segment: int | None = None

    @property
    def is_speech(self) -> bool:
        return self.speaker is not None


def timestamp(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_webvtt(cues: list[Cue], title: str | None = None) -> str:
    out = ["WEBVTT" + (f" - {' '.join(title.split())}" if title else ""), ""]
    for number, cue in enumerate(cues, start=1):
        out.append(str(number))
        out.append(f"{timestamp(cue.start)} --> {timestamp(cue.end)}")
        text = _escape(cue.text)
        out.append(f"<v {_escape(cue.speaker)}>{text}</v>" if cue.speaker else text)
        out.append("")
    return "\n".join(out)


_TIMING = re.compile(r"^(\d{2,}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2,}):(\d{2}):(\d{2})\.(\d{3})")
_VOICE = re.compile(r"^<v(?:\.[\w.-]+)? ([^>]+)>(.*?)(?:</v>)?$", re.DOTALL)


def parse_webvtt(text: str) -> list[Cue]:
    """Cues of a WebVTT file (as `to_webvtt` writes them, and the common subset of others)."""
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or not lines[0].startswith("WEBVTT"):
        raise ValidationFailed("a WebVTT transcript must start with WEBVTT", field="transcript")
    cues: list[Cue] = []
    index = 1
    while index < len(lines):
        match = _TIMING.match(lines[index].strip())
        index += 1
        if not match:
            continue
        g = [int(x) for x in match.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        body: list[str] = []
        while index < len(lines) and lines[index].strip():
            body.append(lines[index].strip())
            index += 1
        joined = " ".join(body)
        voice = _VOICE.match(joined)
        if voice:
            cues.append(Cue(start, end, _unescape(voice.group(2).strip()), _unescape(voice.group(1).strip())))
        else:
            cues.append(Cue(start, end, _unescape(re.sub(r"<[^>]+>", "", joined))))
    return cues
