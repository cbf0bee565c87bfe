"""An episode's script in versions: what the studio reads and edits.

The script step's script becomes version 1 (`keep_first`); each edit (`replace`) stores a new version
whole, so the history is kept (`history`). Every line has an id (`l1`, `l2`, ...) that stays with it
across versions; a new line gets the next free id.

The document the API reads and writes:

    {"version": 3,
     "segments": [{"title": "...", "kind": "intro"|"topic"|"outro",
                   "lines": [{"id": "l1", "speaker": "Ada", "text": "...", "sources": ["https://..."]}]}]}

`kind` may be left out of a segment: the first is the intro, the last the outro, the others topics. A line without an
id is a new line; an id the script never had is refused. Speakers must be the script's hosts. The
result must still be a valid script (an intro, one or more topics, an outro; see
aether.agents.pswa.script.Script), or nothing is stored. Replacing needs the version it was read as:
another version meanwhile is a PreconditionFailed (412). A document that changes nothing stores no new
version.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aether.agents.pswa.script import Script
from aether.db import AsyncConnection, load_queries
from aether.errors import NotFound, PreconditionFailed, ValidationFailed, invalid, pattern_rule

Q = load_queries(__file__, "scripts.sql")

_ID = re.compile(pattern_rule(r"^l([0-9]{1,6})$", "a line id: l and 1 to 6 digits, such as l12"))


class LineEdit(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str | None = Field(None, pattern=_ID.pattern)
    speaker: str = Field(min_length=1, max_length=60)
    text: str = Field(min_length=1, max_length=4000)
    sources: list[str] = Field(default_factory=list, max_length=20)


class SegmentEdit(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300)
    kind: Literal["intro", "topic", "outro"] | None = None
    lines: list[LineEdit] = Field(min_length=1, max_length=500)


class ScriptEdit(BaseModel):
    """The document PUT /v1/episodes/{id}/script takes: what GET answers, edited."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(None, ge=1, description="The version read (If-Match decides; this is ignored)")
    segments: list[SegmentEdit] = Field(min_length=3, max_length=60)


def _number(line_id: str | None) -> int:
    match = _ID.match(line_id or "")
    return int(match.group(1)) if match else 0


def with_line_ids(script: dict[str, Any]) -> dict[str, Any]:
    """The script with an id on every line (lines that have one keep it)."""
    lines = [line for segment in script["segments"] for line in segment["lines"]]
    taken = {line.get("id") for line in lines if line.get("id")}
    next_id = max((_number(i) for i in taken), default=0) + 1
    for line in lines:
        if not line.get("id"):
            line["id"] = f"l{next_id}"
            next_id += 1
    return script


def document(version: int, script: dict[str, Any]) -> dict[str, Any]:
    """The API's view of a script version."""
    return {
        "version": version,
        "segments": [
            {
                "title": segment["title"],
                "kind": segment["kind"],
                "lines": [
                    {"id": line["id"], "speaker": line["speaker"], "text": line["text"], "sources": line["sources"]}
                    for line in segment["lines"]
                ],
            }
            for segment in script["segments"]
        ],
    }


async def keep_first(conn: AsyncConnection, episode_id: str, script: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Store the written script as version 1 (once: a rerun keeps the first); (version, script)."""
    script = with_line_ids(Script.model_validate(script).model_dump(mode="json"))
    await conn.execute(
        Q.insert_version, {"episode_id": episode_id, "version": 1, "script": Jsonb(script), "author": "writer"}
    )
    return await latest(conn, episode_id)


async def latest(conn: AsyncConnection, episode_id: str) -> tuple[int, dict[str, Any]]:
    cur = await conn.execute(Q.latest_version, {"episode_id": episode_id})
    row = await cur.fetchone()
    if row is None:
        raise NotFound("this episode has no script yet: its script step has not finished", field="episode_id")
    return int(row["version"]), dict(row["script"])


async def version(conn: AsyncConnection, episode_id: str, number: int) -> dict[str, Any]:
    cur = await conn.execute(Q.version, {"episode_id": episode_id, "version": number})
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"the script has no version {number}", field="version")
    return dict(row["script"])


async def history(conn: AsyncConnection, episode_id: str) -> list[dict[str, Any]]:
    cur = await conn.execute(Q.history, {"episode_id": episode_id})
    return [dict(r) for r in await cur.fetchall()]


def _edited(previous: dict[str, Any], edit: ScriptEdit) -> dict[str, Any]:
    known = {line["id"] for segment in previous["segments"] for line in segment["lines"]}
    hosts = [host["name"] for host in previous.get("hosts") or []]
    seen: set[str] = set()
    next_id = max((_number(i) for i in known), default=0) + 1
    segments: list[dict[str, Any]] = []
    for s_index, segment in enumerate(edit.segments):
        lines: list[dict[str, Any]] = []
        for l_index, line in enumerate(segment.lines):
            field = f"segments[{s_index}].lines[{l_index}].id"
            if line.speaker not in hosts:
                where = f"segments[{s_index}].lines[{l_index}].speaker"
                raise ValidationFailed(
                    f"{where}: {line.speaker!r} is not a host (hosts: {', '.join(hosts)})", field=where
                )
            line_id = line.id
            if line_id is None:
                line_id, next_id = f"l{next_id}", next_id + 1
            elif line_id not in known:
                raise ValidationFailed(
                    f"{field}: {line_id!r} is not a line of this script (leave it out for a new line)", field=field
                )
            elif line_id in seen:
                raise ValidationFailed(f"{field}: {line_id!r} is used twice", field=field)
            seen.add(line_id)
            lines.append({"id": line_id, "speaker": line.speaker, "text": line.text, "sources": list(line.sources)})
        last = len(edit.segments) - 1
        kind = segment.kind or ("intro" if s_index == 0 else "outro" if s_index == last else "topic")
        topic_id = previous["segments"][s_index].get("topic_id") if s_index < len(previous["segments"]) else None
        segments.append({"kind": kind, "title": segment.title, "topic_id": topic_id, "lines": lines})
    script = {**previous, "segments": segments}
    try:
        checked = Script.model_validate(script)
    except ValidationError as exc:
        raise invalid(exc, default_field="segments") from None
    checked.word_count = checked.spoken_words()
    return checked.model_dump(mode="json")


async def replace(
    conn: AsyncConnection, episode_id: str, expected: int, edit: ScriptEdit, *, author: str
) -> tuple[int, dict[str, Any]]:
    """Store the edited script as the next version, when `expected` is still the latest; (version, script)."""
    await conn.execute(Q.lock_episode, {"episode_id": episode_id})
    current, previous = await latest(conn, episode_id)
    if current != expected:
        raise PreconditionFailed(
            f"the script is at version {current}, not {expected}: read it again and redo your change", field="If-Match"
        )
    script = _edited(previous, edit)
    if script == previous:  # nothing changed: no new version
        return current, previous
    await conn.execute(
        Q.insert_version, {"episode_id": episode_id, "version": current + 1, "script": Jsonb(script), "author": author}
    )
    return current + 1, script
