"""Chapters from the segment boundaries: Podcasting 2.0 JSON chapters (version 1.2.0)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Chapter:
    start: float
    end: float
    title: str


def podcasting20(
    chapters: list[Chapter], *, title: str | None = None, podcast: str | None = None, image_url: str | None = None
) -> dict[str, Any]:
    """The JSON object of https://github.com/Podcastindex-org/podcast-namespace/blob/main/chapters/jsonChapters.md"""
    doc: dict[str, Any] = {"version": "1.2.0"}
    if title:
        doc["title"] = title
    if podcast:
        doc["podcastName"] = podcast
    doc["chapters"] = []
    for chapter in chapters:
        item: dict[str, Any] = {
            "startTime": round(chapter.start, 3),
            "endTime": round(chapter.end, 3),
            "title": chapter.title,
        }
        if image_url:
            item["img"] = image_url
        doc["chapters"].append(item)
    return doc


def to_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def podcast_name(text: str) -> str | None:
    """The `podcastName` of a chapters document (the show it belongs to), if it names one."""
    name = json.loads(text).get("podcastName")
    return (name.strip() or None) if isinstance(name, str) else None


def from_json(text: str) -> list[Chapter]:
    doc = json.loads(text)
    items = doc.get("chapters", [])
    out = []
    for index, item in enumerate(items):
        end = item.get("endTime")
        if end is None:
            end = items[index + 1]["startTime"] if index + 1 < len(items) else item["startTime"]
        out.append(Chapter(float(item["startTime"]), float(end), str(item.get("title", ""))))
    return out
