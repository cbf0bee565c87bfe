"""Episodes: creating one starts the `podcast_episode` workflow; an episode follows its workflow
(published when it completes, failed when it fails: a trigger of migration 0007) and links the
assets the workflow stored (audio, video, cover, transcript, chapters)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from aether.config import Settings
from aether.db import AsyncConnection, jsonable, load_queries
from aether.db.pagination import decode_cursor, encode_cursor
from aether.errors import NotFound, ValidationFailed, WorkflowUnavailable
from aether.orchestrator import get_workflow_state, start_workflow
from aether.podcasts import media_info, shows, stages, workflow
from aether.podcasts.models import EpisodeIn
from aether.podcasts.plan import prepare_start
from aether.podcasts.voices import DEFAULT_HOSTS, check_cast_language

Q = load_queries(__file__, "episodes.sql")

WORKFLOW = workflow.NAME
MEDIA_KINDS = ("audio", "video", "cover", "transcript", "chapters")
# asset types (assets.type) and output keys that name each kind of media
_ASSET_TYPES = {
    "audio": ("audio",),
    "video": ("video",),
    "cover": ("image", "cover"),
    "transcript": ("transcript",),
    "chapters": ("chapters",),
}
TERMINAL = frozenset({"completed", "failed", "cancelled"})


def episode_params(body: EpisodeIn, preferences: dict[str, Any], show: dict[str, Any]) -> dict[str, Any]:
    """The workflow's parameters: the request, then the session's preferences, then the show (its bible)."""
    chosen = body.model_dump(exclude_none=True)

    def pick(key: str, default: Any) -> Any:
        if key in chosen:
            return chosen[key]
        if preferences.get(key) is not None:
            return preferences[key]
        return default

    bible = {h["name"]: h for h in shows.stored_hosts(show.get("hosts"))}
    names = pick("hosts", list(bible) or list(DEFAULT_HOSTS))
    cast = [{"name": n, "persona": "", "voice": None} | bible.get(n, {}) for n in names]
    return {
        "topic": body.topic,
        "title": body.title or body.topic[:300],
        "language": pick("language", show.get("language") or "en"),
        "hosts": names,
        "cast": cast,
        "voice": pick("voice", None),
        "voice_speed": pick("voice_speed", 1.0),
        "episode_minutes": pick("episode_minutes", 5),
        "sources": list(show.get("sources") or []),
        "urls": list(chosen.get("sources") or []),
        "video": body.video,
        "show_title": show.get("title") or "",
        "show_author": show.get("author") or "",
        "show_description": show.get("description") or "",
        "pronunciations": list(show.get("pronunciations") or []),
        "intro": show.get("intro"),
        "outro": show.get("outro"),
        "music": bool(show.get("music", True)),
        "loudness_lufs": float(show.get("loudness_lufs") or -16.0),
        "review": bool(show.get("review", False)),
    }


async def start_episode(
    conn: AsyncConnection,
    user_id: int,
    preferences: dict[str, Any],
    show_id: int,
    body: EpisodeIn,
    *,
    settings: Settings | None = None,
    topic_ids: list[str] | None = None,
    trigger: str = "api",
) -> dict[str, Any]:
    """Insert the episode and start its workflow in the caller's transaction. The workflow publishes to
    the show's targets and works on `topic_ids` when given (aether.podcasts.plan)."""

    show = await shows.own_show(conn, user_id, show_id)
    episode_id = uuid.uuid4()
    params = episode_params(body, preferences, show)
    if settings is not None:  # the hosts and language this episode will have: their voices must speak it
        check_cast_language(settings, params["language"], params["cast"])
    params.update({"show_id": show["id"], "show_slug": show["slug"], "episode_id": str(episode_id)})
    if not params["sources"] and not params["urls"] and not topic_ids:
        raise ValidationFailed(
            "sources: the show has no sources and none were given with the episode; "
            "add a source to the show or pass sources with the episode",
            field="sources",
        )
    try:
        workflow = prepare_start(show, params, settings=settings, topic_ids=topic_ids)
        workflow_id = await start_workflow(conn, workflow, params, user_id=user_id, trigger=trigger)
    except NotFound as exc:
        if exc.field in ("name", "version"):
            raise WorkflowUnavailable(f"episodes cannot be made here: {exc.message}") from None
        raise
    cur = await conn.execute(
        Q.insert_episode,
        {
            "id": episode_id,
            "show_id": show["id"],
            "user_id": user_id,
            "workflow_id": workflow_id,
            "guid": f"aether-episode-{episode_id}",
            "title": params["title"],
            "description": body.description or "",
            "episode_type": body.episode_type,
            "params": Jsonb(params),
        },
    )
    row = await cur.fetchone()
    assert row is not None
    return dict(row) | {"show_slug": show["slug"], "show_title": show["title"]}


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound(f"no episode {value}", field="episode_id") from None


async def own_episode(conn: AsyncConnection, user_id: int, episode_id: str) -> dict[str, Any]:
    cur = await conn.execute(Q.own_episode, {"id": _uuid(episode_id), "user_id": user_id})
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no episode {episode_id}", field="episode_id")
    return await link_assets(conn, dict(row))


async def public_episode(conn: AsyncConnection, episode_id: str) -> dict[str, Any]:
    cur = await conn.execute(Q.public_episode, {"id": _uuid(episode_id)})
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no episode {episode_id}", field="episode_id")
    return await link_assets(conn, dict(row))


async def link_assets(conn: AsyncConnection, episode: dict[str, Any]) -> dict[str, Any]:
    """Fill the episode's media columns from what its workflow stored, once it is published."""
    if episode.get("status") != "published" or episode.get("audio_asset_id") or not episode.get("workflow_id"):
        return episode
    found = await _workflow_assets(conn, str(episode["workflow_id"]))
    if not found:
        return episode
    cur = await conn.execute(
        Q.set_episode_assets,
        {
            "id": episode["id"],
            "audio": found.get("audio"),
            "video": found.get("video"),
            "cover": found.get("cover"),
            "transcript": found.get("transcript"),
            "chapters": found.get("chapters"),
            "duration": found.get("duration"),
        },
    )
    row = await cur.fetchone()
    return episode | (dict(row) if row else {})


async def _workflow_assets(conn: AsyncConnection, workflow_id: str) -> dict[str, Any]:
    """Asset ids by media kind: named in the steps' outputs (`<kind>_asset_id`, `assets`), else the
    assets whose metadata names the workflow."""
    found: dict[str, Any] = {}
    cur = await conn.execute(
        "SELECT output_summary FROM task_instances WHERE workflow_id = %(w)s AND status = 'completed'",
        {"w": workflow_id},
    )
    for row in await cur.fetchall():
        _collect(row["output_summary"], found)
    if "audio" not in found:
        cur = await conn.execute(
            "SELECT id, type, metadata FROM assets"
            " WHERE workflow_id = %(w)s::uuid OR metadata->>'workflow_id' = %(w)s::text ORDER BY id",
            {"w": workflow_id},
        )
        for row in await cur.fetchall():
            for kind, types in _ASSET_TYPES.items():
                if row["type"] in types:
                    found[kind] = row["id"]
    if "audio" in found and "duration" not in found:
        cur = await conn.execute(Q.asset_by_id, {"id": found["audio"]})
        audio = await cur.fetchone()
        if audio is not None:
            found["duration"] = media_info.describe(audio["metadata"], audio["path"]).duration
    return found


def _collect(output: Any, found: dict[str, Any]) -> None:
    if not isinstance(output, dict):
        return
    for kind, types in _ASSET_TYPES.items():
        for name in (kind, *types):
            value = output.get(f"{name}_asset_id")
            if isinstance(value, int) and not isinstance(value, bool):
                found[kind] = value
    assets = output.get("assets")
    if isinstance(assets, dict):
        for role, value in assets.items():
            asset_id = value.get("id") if isinstance(value, dict) else value
            if not isinstance(asset_id, int) or isinstance(asset_id, bool):
                continue
            asset_type = value.get("type") if isinstance(value, dict) else None
            uri = str(value.get("uri") or "") if isinstance(value, dict) else ""
            for kind, types in _ASSET_TYPES.items():
                if role in (kind, *types) or (
                    asset_type in types and (kind not in found or (kind == "audio" and uri.endswith(".mp3")))
                ):
                    found[kind] = asset_id
    for key in ("duration_seconds", "duration_s", "duration"):
        if isinstance(output.get(key), int | float) and not isinstance(output.get(key), bool):
            found.setdefault("duration", float(output[key]))


def media_base(base_url: str, episode_id: str, render_version: int | None) -> str:
    """Where an episode's media live: under its audio version when it has one (each version's URLs are
    its own, so a podcast app never sees one URL with other bytes)."""
    base = f"{base_url}/media/episodes/{episode_id}"
    return f"{base}/v{render_version}" if render_version else base


def media_urls(episode: dict[str, Any], base_url: str, eid: str | None = None) -> dict[str, str | None]:
    episode_id = eid or str(episode["id"])
    base = media_base(base_url, episode_id, episode.get("render_version"))
    return {
        "audio": f"{base}/audio.mp3" if episode.get("audio_asset_id") else None,
        "video": f"{base}/video.mp4" if episode.get("video_asset_id") else None,
        "cover": f"{base_url}/media/episodes/{episode_id}/cover" if episode.get("cover_asset_id") else None,
        "transcript": f"{base}/transcript.vtt" if episode.get("transcript_asset_id") else None,
        "chapters": f"{base}/chapters.json" if episode.get("chapters_asset_id") else None,
    }


EPISODE_KEYS = (
    "id",
    "show_id",
    "workflow_id",
    "guid",
    "title",
    "description",
    "status",
    "episode_type",
    "episode_number",
    "duration_seconds",
    "published_at",
    "created_at",
    "updated_at",
)


def episode_json(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The API's view of an episode row; its values are the row's own (the gateway renders them with
    its `JSON` response)."""
    out = {key: row[key] for key in EPISODE_KEYS}
    eid = str(row["id"])
    out["media"] = media_urls(row, base_url, eid)
    out["notes"] = row.get("notes")  # the show notes once released (aether.podcasts.notes), else null
    out["page_url"] = f"{base_url}/episodes/{eid}"
    out["progress_url"] = f"{base_url}/v1/episodes/{eid}/progress"
    return out


async def list_episodes(
    conn: AsyncConnection, *, user_id: int, show_id: int | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    after_created: datetime | None = None
    after_id: str | None = None
    if cursor:
        created_text, after_id = decode_cursor(cursor, ("created_at", "id"))
        try:
            after_created = datetime.fromisoformat(str(created_text))
            after_id = str(uuid.UUID(str(after_id)))
        except ValueError:
            raise ValidationFailed("cursor is not a cursor this API returned", field="cursor") from None
    params = {"after_created": after_created, "after_id": after_id, "limit": limit + 1}
    if show_id is not None:
        cur = await conn.execute(Q.list_own_show_episodes, params | {"show_id": show_id, "user_id": user_id})
    else:
        cur = await conn.execute(Q.list_user_episodes, params | {"user_id": user_id})
    rows = [dict(r) for r in await cur.fetchall()]
    if not rows and show_id is not None:
        await shows.own_show(conn, user_id, show_id)  # 404 for a show that is not the caller's
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor((last["created_at"].isoformat(), str(last["id"])))
    return rows[:limit], next_cursor


def _running(steps: list[dict[str, Any]], name: str) -> bool:
    return any(s["name"] == name and s["status"] == "in_progress" for s in steps)


async def _voice_lines(conn: AsyncConnection, workflow_id: str) -> tuple[int, int] | None:
    """(lines spoken, lines in all) of the render the voice step is making, when it counts them."""
    cur = await conn.execute(Q.voice_lines, {"workflow_id": workflow_id})
    row = await cur.fetchone()
    if row is None or not row["lines_total"]:
        return None
    return int(row["lines_synthesized"] or 0), int(row["lines_total"])


async def progress(conn: AsyncConnection, episode: dict[str, Any]) -> dict[str, Any]:
    """The episode's workflow, step by step, with what it is doing in words (`said`, aether.podcasts.stages)."""
    out: dict[str, Any] = {"episode_id": str(episode["id"]), "status": episode["status"], "workflow": None}
    workflow_id = await current_workflow(conn, episode)
    if not workflow_id:
        return out
    try:
        state = await get_workflow_state(conn, workflow_id)
    except NotFound:
        return out
    steps = [
        {
            "name": s["step_name"],
            "agent": s["agent_name"],
            "task_type": s["task_type"],
            "status": s["status"],
            "attempts": s["attempts"],
            "started_at": jsonable.value(s.get("started_at")),
            "completed_at": jsonable.value(s.get("completed_at")),
            "error": _error_text(s.get("error_details")),
        }
        for s in state["steps"]
    ]
    done = sum(1 for s in steps if s["status"] in ("completed", "skipped"))
    out["workflow"] = {
        "id": str(state["workflow_id"]),
        "definition": state.get("definition_name"),
        "status": state["status"],
        "error": state.get("error_message"),
        "started_at": jsonable.value(state.get("started_at")),
        "completed_at": jsonable.value(state.get("completed_at")),
    }
    out["steps"] = steps
    out["done_steps"] = done
    out["total_steps"] = len(steps)
    out["finished"] = state["status"] in TERMINAL
    out["error"] = failure(state)
    out["warnings"] = warnings(state)
    lines = await _voice_lines(conn, str(state["workflow_id"])) if _running(steps, "voice") else None
    for step in steps:
        step["said"] = stages.step_said(step, lines=lines)
    out["said"] = stages.said(out, lines=lines)
    return out


async def current_workflow(conn: AsyncConnection, episode: dict[str, Any]) -> str | None:
    """The workflow to follow: the newest render's (an approved or edited script), else the episode's."""
    cur = await conn.execute(Q.latest_render, {"episode_id": episode["id"]})
    render = await cur.fetchone()
    if render is not None and render["workflow_id"]:
        return str(render["workflow_id"])
    return str(episode["workflow_id"]) if episode.get("workflow_id") else None


async def current_render(conn: AsyncConnection, episode_id: Any) -> dict[str, Any] | None:
    """The episode's latest ready audio version: {"version", "lines_total", "lines_synthesized"}."""
    cur = await conn.execute(Q.ready_render, {"episode_id": episode_id})
    row = await cur.fetchone()
    return dict(row) if row else None


def failure(state: dict[str, Any]) -> dict[str, Any] | None:
    """Why a failed (or cancelled) workflow ended, for a person: {"step", "code", "message"}."""
    if state.get("status") not in ("failed", "cancelled"):
        return None
    for step in state["steps"]:
        details = step.get("error_details")
        if step["status"] in ("failed", "cancelled") and isinstance(details, dict):
            return {
                "step": step["step_name"],
                "code": str(details.get("code") or ("cancelled" if step["status"] == "cancelled" else "task_failed")),
                "message": str(details.get("reason") or details.get("message") or state.get("error_message") or ""),
            }
    code = "cancelled" if state.get("status") == "cancelled" else "failed"
    return {"step": None, "code": code, "message": str(state.get("error_message") or code)}


def warnings(state: dict[str, Any]) -> list[str]:
    """What the steps said the listener should know (e.g. less material than the minutes asked)."""
    found: list[str] = []
    for step in state["steps"]:
        summary = step.get("output_summary")
        if isinstance(summary, dict) and isinstance(summary.get("warnings"), list):
            found.extend(str(w) for w in summary["warnings"] if str(w) not in found)
    return found


def _error_text(details: Any) -> str | None:
    if details is None:
        return None
    if isinstance(details, dict):
        return str(details.get("message") or details.get("error") or details)
    return str(details)


async def provenance(conn: AsyncConnection, episode: dict[str, Any]) -> dict[str, Any]:
    """Where the episode came from: the topic asked, the sources read (the show's and those given with the
    episode), every story's relevance to the topic, the stories chosen, and which agent made each part."""
    params = episode.get("params") or {}
    out: dict[str, Any] = {
        "workflow_id": jsonable.value(episode.get("workflow_id")),
        "topic": params.get("topic"),
        "sources": list(dict.fromkeys([*(params.get("sources") or []), *(params.get("urls") or [])])),
        "relevance": [],
        "stories": [],
        "steps": [],
    }
    if not episode.get("workflow_id"):
        return out
    try:
        state = await get_workflow_state(conn, str(episode["workflow_id"]))
    except NotFound:
        return out
    for step in state["steps"]:
        summary = step.get("output_summary") if isinstance(step.get("output_summary"), dict) else {}
        assert isinstance(summary, dict)
        used = {k: v for k, v in summary.items() if k in ("model", "engine", "writer", "voice", "llm_model_used")}
        if step["step_name"] == "discover":
            out["relevance"] = summary.get("relevance") or []
            out["material"] = summary.get("material")
            out["stories"] = [
                {
                    "title": t.get("title"),
                    "relevance": t.get("relevance", t.get("score")),
                    "sources": [
                        {k: s.get(k) for k in ("url", "title", "publication", "published_at")}
                        for s in t.get("sources") or []
                    ],
                }
                for t in summary.get("topics") or []
            ]
        out["steps"].append(
            {
                "name": step["step_name"],
                "agent": step["agent_name"],
                "status": step["status"],
                "completed_at": jsonable.value(step.get("completed_at")),
                **used,
            }
        )
    return out
