"""Shows: a user's podcast series, each with its own public feed at /shows/{slug}/feed.xml.

Deleting a show (`delete_show`) deletes its episodes and subscribers, cancels its episodes' running
workflows (their queued and running tasks too: a running handler is told to stop) and deletes the asset
rows that only this show uses; the caller deletes those objects from the object store once the
transaction has committed (`aether.storage.delete_objects`)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

from psycopg.types.json import Jsonb

from aether.config import Settings
from aether.db import AsyncConnection, jsonable, load_queries
from aether.errors import Conflict, NotFound, ValidationFailed
from aether.orchestrator import cancel_workflow, states
from aether.podcasts.models import VoiceIn
from aether.podcasts.targets import parse_targets
from aether.podcasts.voices import check_cast_language
from aether.queue.tasks import Hooks

Q = load_queries(__file__, "shows.sql")

# Podcasting 2.0: podcast:guid is a UUIDv5 of the feed URL (scheme and trailing slashes removed) in the
# namespace the spec names (its example: mp3s.nashownotes.com/pc20rss.xml -> 917393e3-1b1e-5cef-ace4-edaa54e1f810).
PODCAST_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")

SHOW_KEYS = (
    "id",
    "slug",
    "guid",
    "title",
    "description",
    "author",
    "owner_email",
    "language",
    "category",
    "explicit",
    "hosts",
    "sources",
    "schedule",
    "targets",
    "pronunciations",
    "intro",
    "outro",
    "music",
    "loudness_lufs",
    "review",
    "image_uri",
    "created_at",
    "updated_at",
)


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60].strip("-") or "show"


def feed_path(slug: str) -> str:
    return f"/shows/{slug}/feed.xml"


def podcast_guid(base_url: str, slug: str) -> uuid.UUID:
    url = re.sub(r"^[a-z][a-z0-9+.-]*://", "", base_url.rstrip("/") + feed_path(slug)).rstrip("/")
    return uuid.uuid5(PODCAST_NAMESPACE, url)


def stored_targets(value: Any) -> dict[str, Any]:
    """Publishing targets as kept in shows.targets (checked by aether.podcasts.targets)."""
    return parse_targets(value).stored()


# The show bible's settings and their defaults (as the columns of migration 0015 have them).
BIBLE_DEFAULTS: dict[str, Any] = {"intro": None, "outro": None, "music": True, "loudness_lufs": -16.0, "review": False}


def stored_hosts(value: Any) -> list[dict[str, Any]]:
    """Hosts as kept in shows.hosts: objects {"name", "persona", "voice"} (a plain name becomes one)."""
    out: list[dict[str, Any]] = []
    for host in value or []:
        item = {"name": host} if isinstance(host, str) else dict(host)
        voice = VoiceIn.model_validate(item["voice"]).model_dump() if item.get("voice") else None
        out.append({"name": item["name"], "persona": item.get("persona") or "", "voice": voice})
    return out


def show_json(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    out = jsonable.row(row, SHOW_KEYS)
    out["hosts"] = stored_hosts(row.get("hosts"))
    out["feed_url"] = base_url + feed_path(row["slug"])
    out["page_url"] = f"{base_url}/shows/{row['slug']}"
    if "episode_count" in row:
        out["episode_count"] = row["episode_count"]
    return out


async def create_show(
    conn: AsyncConnection,
    user_id: int,
    fields: dict[str, Any],
    *,
    base_url: str,
    explicit_slug: str | None,
    settings: Settings,
) -> dict[str, Any]:
    """Insert a show; a slug made from the title gets -2, -3 ... when taken; a chosen slug that is taken is 409.
    Its hosts' voices and the writer must speak its language (aether.podcasts.voices)."""
    check_schedule(fields)
    check_cast_language(settings, fields.get("language") or "en", stored_hosts(fields.get("hosts")))
    candidates = [explicit_slug] if explicit_slug else _slug_candidates(slugify(fields["title"]))
    for slug in candidates:
        params = {
            **fields,
            "user_id": user_id,
            "slug": slug,
            "guid": podcast_guid(base_url, slug),
            **BIBLE_DEFAULTS,
            **{k: v for k, v in fields.items() if k in BIBLE_DEFAULTS and v is not None},
            "hosts": Jsonb(stored_hosts(fields.get("hosts"))),
            "sources": Jsonb(fields.get("sources") or []),
            "targets": Jsonb(stored_targets(fields.get("targets"))),
            "pronunciations": Jsonb(fields.get("pronunciations") or []),
        }
        cur = await conn.execute(Q.insert_show, params)
        row = await cur.fetchone()
        if row is not None:
            return dict(row)
    if explicit_slug:
        raise Conflict(f"the slug {explicit_slug!r} is taken by another show", field="slug")
    raise Conflict("could not find a free slug for this title; choose one", field="slug")


def _slug_candidates(base: str) -> list[str]:
    return [base] + [f"{base}-{n}" for n in range(2, 50)]


async def own_show(conn: AsyncConnection, user_id: int, show_id: int, *, for_update: bool = False) -> dict[str, Any]:
    query = Q.own_show_for_update if for_update else Q.own_show
    cur = await conn.execute(query, {"id": show_id, "user_id": user_id})
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no show {show_id}", field="show_id")
    return dict(row)


def check_schedule(show: dict[str, Any]) -> None:
    """A scheduled show reads only its own sources, so it needs some."""
    if show.get("schedule") and not show.get("sources"):
        raise ValidationFailed(
            "a scheduled show needs sources to read its stories from: add sources, or remove the schedule",
            field="schedule",
        )


async def update_show(
    conn: AsyncConnection, user_id: int, show_id: int, changes: dict[str, Any], *, settings: Settings
) -> dict[str, Any]:
    """Change a show; when the change touches its language or hosts, the language gate runs again."""
    current = await own_show(conn, user_id, show_id, for_update=True)
    merged = {**current, **changes}
    if not merged.get("title"):
        raise ValidationFailed("title must not be empty", field="title")
    check_schedule(merged)
    if "language" in changes or "hosts" in changes:
        check_cast_language(settings, merged.get("language") or "en", stored_hosts(merged.get("hosts")))
    merged["hosts"] = Jsonb(stored_hosts(merged.get("hosts")))
    merged["pronunciations"] = Jsonb(merged.get("pronunciations") or [])
    merged["sources"] = Jsonb(merged.get("sources") or [])
    merged["targets"] = Jsonb(stored_targets(merged.get("targets")))
    merged["user_id"] = user_id
    cur = await conn.execute(Q.update_show, merged)
    row = await cur.fetchone()
    assert row is not None
    return dict(row)


async def delete_show(conn: AsyncConnection, user_id: int, show_id: int, *, hooks: Hooks) -> list[str]:
    """Delete the user's show (in the caller's transaction): cancel its live workflows, delete the assets
    nothing else uses, then the show with its episodes; returns the URIs of the objects to delete."""
    await own_show(conn, user_id, show_id, for_update=True)
    cur = await conn.execute(Q.show_workflows, {"show_id": show_id})
    for flow in await cur.fetchall():
        if states.cancellable(flow["status"]):
            try:
                await cancel_workflow(conn, str(flow["workflow_id"]), hooks=hooks, reason="the show was deleted")
            except Conflict:
                pass  # it finished since it was read: nothing left to cancel
    cur = await conn.execute(Q.delete_show_assets, {"show_id": show_id})
    uris = [str(r["path"]) for r in await cur.fetchall()]
    cur = await conn.execute(Q.delete_show, {"id": show_id, "user_id": user_id})
    if await cur.fetchone() is None:
        raise NotFound(f"no show {show_id}", field="show_id")
    return uris


async def show_by_slug(conn: AsyncConnection, slug: str) -> dict[str, Any] | None:
    cur = await conn.execute(Q.show_by_slug, {"slug": slug})
    row = await cur.fetchone()
    return dict(row) if row else None
