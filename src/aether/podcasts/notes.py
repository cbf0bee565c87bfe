"""Show notes: what an episode is about, where its material came from, and where each chapter starts.

`build_notes` is pure: from the episode's script (PSWA's JSON), the stories it was made from (the
provenance: titles, links, publications) and its chapters ([{start, title}]) it makes

* a summary of two to four sentences: the script's description (at most two of its sentences), the
  sources it draws on, its chapters, its hosts;
* the sources: [{title, url, publication}], each link once, in the order the stories were chosen;
* the chapters: [{start, title}] with their start as a clock time (`clock`).

`ShowNotes.text()` is plain text (the RSS `<description>`, mails, the YouTube description), `html()` is
safe HTML (the RSS `<content:encoded>`): every text escaped, links only to http(s) URLs. `as_json()` is
what `episodes.notes` stores and the API returns (the structured parts plus both renderings).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aether.text.sentences import normalize_space, split_sentences

MAX_SOURCES = 50
MAX_SUMMARY_SENTENCES = 4


@dataclass(frozen=True)
class NoteSource:
    title: str
    url: str
    publication: str

    @property
    def linkable(self) -> bool:
        return urlsplit(self.url).scheme in ("http", "https")


@dataclass(frozen=True)
class NoteChapter:
    start: float
    title: str

    @property
    def time(self) -> str:
        return clock(self.start)


@dataclass(frozen=True)
class ShowNotes:
    summary: str
    sources: tuple[NoteSource, ...]
    chapters: tuple[NoteChapter, ...]

    def text(self, *, chapters: bool = True) -> str:
        blocks = [self.summary]
        if self.sources:
            blocks.append("Sources:\n" + "\n".join(f"- {_label(s)}: {s.url}" for s in self.sources))
        if chapters and self.chapters:
            blocks.append("Chapters:\n" + "\n".join(f"{c.time} {c.title}" for c in self.chapters))
        return "\n\n".join(blocks)

    def html(self) -> str:
        out = [f"<p>{html.escape(self.summary)}</p>"]
        if self.sources:
            items = []
            for source in self.sources:
                title = html.escape(source.title)
                link = f'<a href="{html.escape(source.url, quote=True)}">{title}</a>' if source.linkable else title
                where = f" ({html.escape(source.publication)})" if source.publication else ""
                items.append(f"<li>{link}{where}</li>")
            out.append("<p><strong>Sources</strong></p><ul>" + "".join(items) + "</ul>")
        if self.chapters:
            items = [f"<li>{c.time} {html.escape(c.title)}</li>" for c in self.chapters]
            out.append("<p><strong>Chapters</strong></p><ul>" + "".join(items) + "</ul>")
        return "".join(out)

    def as_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "sources": [{"title": s.title, "url": s.url, "publication": s.publication} for s in self.sources],
            "chapters": [{"start": c.start, "time": c.time, "title": c.title} for c in self.chapters],
            "text": self.text(),
            "html": self.html(),
        }


def clock(seconds: float) -> str:
    """0:00, 12:34 or 1:02:03: the chapter times podcast apps and YouTube turn into links."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _label(source: NoteSource) -> str:
    return f"{source.title} ({source.publication})" if source.publication else source.title


def _str(value: Any) -> str:
    return normalize_space(value) if isinstance(value, str) else ""


def _sources(stories: Sequence[Mapping[str, Any]], script: Mapping[str, Any]) -> tuple[NoteSource, ...]:
    """Each story's sources (the provenance), else the script's own list; each URL once."""
    found: dict[str, NoteSource] = {}
    for story in stories:
        for source in story.get("sources") or []:
            if not isinstance(source, Mapping):
                continue
            url = _str(source.get("url"))
            if url and url not in found:
                title = _str(source.get("title")) or _str(story.get("title")) or url
                found[url] = NoteSource(title, url, _str(source.get("publication")))
    if not found:
        for source in script.get("sources") or []:
            ref = source if isinstance(source, Mapping) else {"url": source}
            url = _str(ref.get("url"))
            if url and url not in found:
                found[url] = NoteSource(_str(ref.get("title")) or url, url, _str(ref.get("publication")))
    return tuple(list(found.values())[:MAX_SOURCES])


def _chapters(chapters: Sequence[Mapping[str, Any]]) -> tuple[NoteChapter, ...]:
    out: list[NoteChapter] = []
    for chapter in chapters:
        raw, title = chapter.get("start"), _str(chapter.get("title"))
        if not isinstance(raw, int | float) or isinstance(raw, bool) or not title:
            continue
        start = round(float(raw), 3)
        if not out or start > out[-1].start:
            out.append(NoteChapter(start, title))
    return tuple(out)


def _names(items: Sequence[str]) -> str:
    items = list(dict.fromkeys(i for i in items if i))
    if not items:
        return ""
    if len(items) > 3:
        return ", ".join(items[:3]) + " and others"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in ".!?…" else text + "."


def _summary(
    script: Mapping[str, Any],
    sources: Sequence[NoteSource],
    chapters: Sequence[NoteChapter],
    *,
    show_title: str,
    title: str,
    topic: str,
    description: str,
) -> str:
    told = _str(script.get("description")) or description
    sentences = [_sentence(s) for s in split_sentences(told)[:2] if s.strip()]
    if not sentences:
        about = topic or title
        sentences.append(_sentence(f"This episode of {show_title} is about {about}" if about else show_title))
    if sources:
        where = _names([s.publication for s in sources]) or _names([urlsplit(s.url).hostname or "" for s in sources])
        count = f"{len(sources)} source" + ("" if len(sources) == 1 else "s")
        sentences.append(f"It draws on {count}" + (f" from {where}." if where else "."))
    topics = [c.title for c in chapters[1:-1]] if len(chapters) >= 3 else [c.title for c in chapters]
    if topics and len(sentences) < MAX_SUMMARY_SENTENCES:
        sentences.append(_sentence("Chapters: " + _names(topics)))
    hosts = [_str(h.get("name")) if isinstance(h, Mapping) else _str(h) for h in script.get("hosts") or []]
    if len(sentences) < 2 and any(hosts):
        sentences.append(_sentence("With " + _names(hosts)))
    if len(sentences) < 2:
        sentences.append(_sentence(f"From {show_title}" if show_title else "Thanks for listening"))
    return " ".join(sentences[:MAX_SUMMARY_SENTENCES])


def build_notes(
    script: Mapping[str, Any] | None,
    stories: Sequence[Mapping[str, Any]],
    chapters: Sequence[Mapping[str, Any]],
    *,
    show_title: str,
    title: str = "",
    topic: str = "",
    description: str = "",
) -> ShowNotes:
    """The notes of one episode (see the module's docstring)."""
    script = script or {}
    sources = _sources(stories, script)
    chapter_list = _chapters(chapters)
    summary = _summary(
        script, sources, chapter_list, show_title=show_title, title=title, topic=topic, description=description
    )
    return ShowNotes(summary, sources, chapter_list)
