"""The studio: a script held for review, approved, edited and rendered again, each audio a new version.

* The `draft` step (task `podcasts.draft`, after the script step; see aether.podcasts.workflow) keeps the
  written script as version 1 (aether.podcasts.scripts). When the show holds scripts for review, the
  episode becomes `review` and its workflow ends there. Otherwise it opens the episode's next audio
  version (an `episode_renders` row) and hands the voice step the script and the show's speech settings.
* `start_render` (POST /v1/episodes/{id}/approve for an episode in review, /render for a finished one)
  starts the `render` variant of the workflow (draft → voice → video → release) on the script's latest
  version, with the episode's own cover and music, and opens the next audio version at once.
* The release step (aether.podcasts.release) calls `finish_render`: in the transaction that publishes, the
  version is ready and the episode's media are this version's. Each version has media URLs of its own
  (/media/episodes/{id}/v{N}/audio.mp3), so a podcast app never sees one URL with other bytes.

The voice step speaks only the lines whose sound is new (aether.agents.vfa.clips); a version records how
many lines it had and how many were synthesized.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aether.config import Settings
from aether.db import AsyncConnection, jsonable, load_queries
from aether.errors import Conflict, NotFound, PermanentError
from aether.orchestrator import start_workflow
from aether.podcasts import scripts
from aether.podcasts.plan import ensure_definition, platforms_for
from aether.podcasts.targets import parse_targets
from aether.podcasts.workflow import DRAFT_TASK, STUDIO_AGENT
from aether.queue.tasks import JSON, Blueprint, TaskContext

Q = load_queries(__file__, "studio.sql")

tasks = Blueprint()


def speech_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """What the voice step needs from the show's bible: the cast (names, personas, voices), the language,
    the lexicon, the loudness target and whether music plays (defaults for workflows started without)."""
    hosts = params.get("hosts") or []
    cast = params.get("cast") or [{"name": name, "persona": "", "voice": None} for name in hosts]
    loudness = params.get("loudness_lufs")
    return {
        "cast": list(cast),
        "language": str(params.get("language") or "en"),
        "pronunciations": list(params.get("pronunciations") or []),
        "loudness_lufs": float(loudness) if isinstance(loudness, int | float) else None,
        "music": bool(params.get("music", True)),
    }


async def open_render(conn: AsyncConnection, episode_id: str, workflow_id: str | None, script_version: int) -> int:
    """The audio version `workflow_id` makes (the next one, opened once); its number."""
    await conn.execute(
        Q.open_render, {"episode_id": episode_id, "workflow_id": workflow_id, "script_version": script_version}
    )
    cur = await conn.execute(Q.render_of_workflow, {"workflow_id": workflow_id})
    row = await cur.fetchone()
    assert row is not None
    return int(row["version"])


async def draft(ctx: TaskContext, payload: JSON) -> JSON:
    params = payload.get("params") if isinstance(payload.get("params"), Mapping) else {}
    assert isinstance(params, Mapping)
    written = payload.get("script")
    episode_id = params.get("episode_id")
    out: JSON = {"speech": speech_settings(params), "held": False, "script_version": None, "render_version": None}
    if not isinstance(episode_id, str) or not episode_id:  # a workflow started without an episode
        if not isinstance(written, Mapping):
            raise PermanentError("the draft step needs the written script (or an episode to read it from)")
        return out | {"script": dict(written)}
    async with ctx.db.transaction() as conn:
        await conn.execute(scripts.Q.lock_episode, {"episode_id": episode_id})
        if isinstance(written, Mapping):
            version, script = await scripts.keep_first(conn, episode_id, dict(written))
        else:
            version, script = await scripts.latest(conn, episode_id)
        out |= {"script": script, "script_version": version}
        if isinstance(written, Mapping) and params.get("review"):
            await conn.execute(Q.hold_for_review, {"episode_id": episode_id})
            return out | {"held": True}
        out["render_version"] = await open_render(conn, episode_id, ctx.workflow_id, version)
    return out


@tasks.task(DRAFT_TASK, agent=STUDIO_AGENT)
async def draft_handler(ctx: TaskContext, payload: JSON) -> JSON:
    return await draft(ctx, payload)


async def _episode_parts(conn: AsyncConnection, workflow_id: str) -> dict[str, Any]:
    """The cover and music the episode's first workflow made (a render reuses them)."""
    cur = await conn.execute(Q.step_outputs, {"workflow_id": workflow_id, "steps": ["cover", "music"]})
    parts = {row["step_name"]: row["output_summary"] for row in await cur.fetchall()}
    return {"cover": parts.get("cover") or {}, "music": parts.get("music") or {"music": False}}


async def start_render(
    conn: AsyncConnection, episode: Mapping[str, Any], *, user_id: int, settings: Settings | None, approve: bool
) -> dict[str, Any]:
    """Start the render of the script's latest version (in the caller's transaction, the episode row
    locked): {"render_version", "workflow_id", "script_version"}. Approving needs an episode in review;
    rendering again needs a published one with no render under way."""
    episode_id = str(episode["id"])
    cur = await conn.execute(scripts.Q.lock_episode, {"episode_id": episode_id})
    row = await cur.fetchone()
    status = row["status"] if row else None
    if approve and status != "review":
        raise Conflict(f"the episode is {status}; only an episode in review can be approved", field="status")
    if not approve and status != "published":
        what = "approve it instead" if status == "review" else "wait until it is published"
        raise Conflict(f"the episode is {status}; {what}", field="status")
    cur = await conn.execute(Q.rendering, {"episode_id": episode_id})
    busy = await cur.fetchone()
    if busy is not None:
        raise Conflict(f"version {busy['version']} is still being rendered; wait for it to finish", field="render")
    script_version, _ = await scripts.latest(conn, episode_id)
    params = dict(episode.get("params") or {})
    params["render"] = await _episode_parts(conn, str(episode["workflow_id"]))
    platforms = platforms_for(parse_targets(params.get("publish")), settings)
    if not approve:  # already posted: only tell the hub that the feed changed
        platforms = platforms & {"websub"}
    name = ensure_definition(platforms, picked_topics=False, mode="render")
    workflow_id = await start_workflow(conn, name, params, user_id=user_id, trigger="studio")
    version = await open_render(conn, episode_id, workflow_id, script_version)
    if approve:
        await conn.execute(Q.approve, {"episode_id": episode_id})
    return {"render_version": version, "workflow_id": str(workflow_id), "script_version": script_version}


async def finish_render(
    conn: AsyncConnection,
    episode_id: str,
    workflow_id: str | None,
    voice: Mapping[str, Any],
    video: Mapping[str, Any],
    cover: Mapping[str, Any],
) -> int | None:
    """This workflow's version is ready and becomes the episode's media (the caller's transaction);
    its number, or None when the workflow made no version (one started before versions existed)."""
    values = {
        "workflow_id": workflow_id,
        "audio": voice.get("audio_asset_id"),
        "video": video.get("video_asset_id"),
        "transcript": voice.get("transcript_asset_id"),
        "chapters": voice.get("chapters_asset_id"),
        "duration": voice.get("duration_s"),
        "lines_total": voice.get("lines_total"),
        "lines_synthesized": voice.get("lines_synthesized"),
    }
    cur = await conn.execute(Q.finish_render, values)
    row = await cur.fetchone()
    if row is None:
        return None
    version = int(row["version"])
    await conn.execute(
        Q.show_render, values | {"episode_id": episode_id, "version": version, "cover": cover.get("cover_asset_id")}
    )
    return version


def render_json(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "version": row["version"],
        "script_version": row["script_version"],
        "status": row["status"],
        "lines_total": row["lines_total"],
        "lines_synthesized": row["lines_synthesized"],
        "duration_seconds": jsonable.value(row["duration_seconds"]),
        "created_at": jsonable.value(row["created_at"]),
        "completed_at": jsonable.value(row["completed_at"]),
    }


async def renders(conn: AsyncConnection, episode_id: str) -> list[dict[str, Any]]:
    """Every audio version of the episode, newest first."""
    cur = await conn.execute(Q.renders, {"episode_id": episode_id})
    return [dict(r) for r in await cur.fetchall()]


async def render_version(conn: AsyncConnection, episode_id: str, version: int) -> dict[str, Any] | None:
    cur = await conn.execute(Q.render_version, {"episode_id": episode_id, "version": version})
    row = await cur.fetchone()
    return dict(row) if row else None


async def prune_render(conn: AsyncConnection, episode_id: str, version: int) -> list[str]:
    """Delete an older audio version and the assets only it used (the caller's transaction); the URIs of
    the objects to delete once it commits. The current version and one being made stay (409)."""
    cur = await conn.execute(scripts.Q.lock_episode, {"episode_id": episode_id})
    cur = await conn.execute(Q.prune_render, {"episode_id": episode_id, "version": version})
    row = await cur.fetchone()
    if row is None:
        existing = await render_version(conn, episode_id, version)
        if existing is None:
            raise NotFound(f"the episode has no audio version {version}", field="version")
        what = "being made" if existing["status"] == "rendering" else "the episode's current audio"
        raise Conflict(f"version {version} is {what}; only older versions can be pruned", field="version")
    ids = [i for i in row.values() if i is not None]
    cur = await conn.execute(Q.delete_unlinked_assets, {"ids": ids})
    return [str(r["path"]) for r in await cur.fetchall()]
