"""The episode script as the voice, video and music agents read it (PSWA's JSON output), validated.

    {show_title, episode_title, description, language, hosts: [{name, persona}],
     segments: [{kind: intro|topic|outro, title, lines: [{speaker, text, sources?}]}], sources?, author?}

`author` is the show's author (the artist in the audio tags); PSWA does not write it, the voice step
takes it from the show.

Fields beyond these are ignored; a missing or malformed one raises ValidationFailed naming it
(`script.segments[1].lines[0].speaker`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from aether.errors import ValidationFailed

SEGMENT_KINDS = ("intro", "topic", "outro")
MAX_LINE_CHARS = 4000
MAX_LINES = 5000


@dataclass(frozen=True)
class Host:
    name: str
    persona: str


@dataclass(frozen=True)
class Line:
    speaker: str
    text: str


@dataclass(frozen=True)
class Segment:
    kind: str
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Script:
    show_title: str
    episode_title: str
    description: str
    language: str
    hosts: tuple[Host, ...]
    segments: tuple[Segment, ...]
    source_urls: tuple[str, ...] = ()
    author: str = ""

    def host_index(self, speaker: str) -> int:
        return next(i for i, host in enumerate(self.hosts) if host.name == speaker)

    @property
    def lines(self) -> list[tuple[int, Line]]:
        """(segment index, line) in speaking order."""
        return [(index, line) for index, segment in enumerate(self.segments) for line in segment.lines]

    @property
    def word_count(self) -> int:
        return sum(len(line.text.split()) for _, line in self.lines)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of everything that is spoken or shown."""
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()


def _text(data: Mapping[str, Any], key: str, where: str, *, required: bool = True, max_len: int = 5000) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValidationFailed(f"{where}.{key} must be a non-empty string", field=f"{where}.{key}")
    if len(value) > max_len:
        raise ValidationFailed(f"{where}.{key} is longer than {max_len} characters", field=f"{where}.{key}")
    return " ".join(value.split())


def _list(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise ValidationFailed(f"{where}.{key} must be a non-empty list", field=f"{where}.{key}")
    return value


def _urls(value: Any) -> list[str]:
    found: list[str] = []
    for item in value if isinstance(value, list) else []:
        url = item.get("url") if isinstance(item, dict) else item
        if isinstance(url, str) and url.startswith(("http://", "https://", "file://")):
            found.append(url)
    return found


def parse_script(data: Any, where: str = "script") -> Script:
    """Validate PSWA's script JSON (or `{"script": {...}}`, its task result)."""
    if isinstance(data, Mapping) and isinstance(data.get("script"), Mapping):
        data = data["script"]
    if not isinstance(data, Mapping):
        raise ValidationFailed(f"{where} must be a JSON object", field=where)
    hosts: list[Host] = []
    for index, raw in enumerate(_list(data, "hosts", where)):
        here = f"{where}.hosts[{index}]"
        if isinstance(raw, str):
            raw = {"name": raw}
        if not isinstance(raw, Mapping):
            raise ValidationFailed(f"{here} must be an object with a name", field=here)
        host = Host(_text(raw, "name", here, max_len=60), _text(raw, "persona", here, required=False, max_len=300))
        if any(h.name == host.name for h in hosts):
            raise ValidationFailed(f"{here}.name {host.name!r} is listed twice", field=f"{here}.name")
        hosts.append(host)
    if len(hosts) > 4:
        raise ValidationFailed(f"{where}.hosts may list at most four hosts", field=f"{where}.hosts")
    names = {h.name for h in hosts}
    segments: list[Segment] = []
    urls: list[str] = _urls(data.get("sources"))
    total = 0
    for s_index, raw_segment in enumerate(_list(data, "segments", where)):
        here = f"{where}.segments[{s_index}]"
        if not isinstance(raw_segment, Mapping):
            raise ValidationFailed(f"{here} must be an object", field=here)
        kind = raw_segment.get("kind")
        if kind not in SEGMENT_KINDS:
            raise ValidationFailed(
                f"{here}.kind must be one of intro, topic, outro (got {kind!r})", field=f"{here}.kind"
            )
        title = _text(raw_segment, "title", here, max_len=300)
        lines: list[Line] = []
        for l_index, raw_line in enumerate(_list(raw_segment, "lines", here)):
            line_where = f"{here}.lines[{l_index}]"
            if not isinstance(raw_line, Mapping):
                raise ValidationFailed(f"{line_where} must be an object with speaker and text", field=line_where)
            speaker = _text(raw_line, "speaker", line_where, max_len=60)
            if speaker not in names:
                raise ValidationFailed(
                    f"{line_where}.speaker {speaker!r} is not one of the hosts ({', '.join(sorted(names))})",
                    field=f"{line_where}.speaker",
                )
            text = _text(raw_line, "text", line_where, max_len=MAX_LINE_CHARS)
            if not any(ch.isalnum() for ch in text):
                raise ValidationFailed(f"{line_where}.text has nothing to speak", field=f"{line_where}.text")
            lines.append(Line(speaker, text))
            urls.extend(_urls(raw_line.get("sources")))
        total += len(lines)
        segments.append(Segment(kind, title, tuple(lines)))
    if total > MAX_LINES:
        raise ValidationFailed(f"{where} has more than {MAX_LINES} lines", field=f"{where}.segments")
    language = data.get("language") or "en"
    if not isinstance(language, str) or not 2 <= len(language) <= 16:
        raise ValidationFailed(f"{where}.language must be a language tag such as 'en'", field=f"{where}.language")
    return Script(
        show_title=_text(data, "show_title", where, max_len=200),
        episode_title=_text(data, "episode_title", where, max_len=300),
        description=_text(data, "description", where, required=False),
        language=language,
        hosts=tuple(hosts),
        segments=tuple(segments),
        source_urls=tuple(dict.fromkeys(urls)),
        author=_text(data, "author", where, required=False, max_len=200),
    )
