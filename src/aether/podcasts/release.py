"""The `release` step, the last of every episode's workflow: the episode goes out, then to each platform.

Task `publish.release` (agent "publish"), after the voice, cover and video steps (see
`aether.podcasts.workflow` and `aether.podcasts.plan`):

    payload  {"params": the workflow's parameters (episode_id, show_id, publish = the show's targets ...),
              "voice": the voice step's output, "video": the video step's output, "cover": the cover's,
              "platforms": ["telegram", "youtube", "websub"] (those that follow; none by default)}
    result   {"episode_id", "published": true when this run published it, "render_version", "page_url",
              "feed_url", "telegram": {telegram.publish payload}, "youtube": {...}, "websub": {...}}

In one transaction the episode becomes `published` (processing -> published, a conditional UPDATE; the
trigger of migration 0009 records `episodes_published` on that change, once), this audio version is
ready and its media become the episode's (aether.podcasts.studio.finish_render, so the feed lists it at
once) and its subscribers' mail is enqueued (the same de-duplicated `mail.notify_episode` task the
workflow's completion would have enqueued). A re-run changes nothing and builds the same payloads. Each
platform step then posts under the idempotency guard. A workflow started without an episode (`aether
demo`, a bare `podcast_episode`) has nothing to release.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from psycopg.types.json import Jsonb

from aether.agents.publishing.common import agent_config
from aether.config import Settings
from aether.db import AsyncConnection, load_queries
from aether.errors import NotFound, PermanentError, ValidationFailed
from aether.media.chapters import from_json
from aether.orchestrator import get_workflow_state
from aether.podcasts.episodes import link_assets, provenance
from aether.podcasts.notes import ShowNotes, build_notes
from aether.podcasts.plan import PAYLOAD_KEYS, RELEASE_AGENT, RELEASE_TASK, public_url
from aether.podcasts.shows import feed_path
from aether.podcasts.studio import finish_render
from aether.podcasts.targets import PublishTargets, parse_targets
from aether.queue.enqueue import NewTask, enqueue
from aether.queue.tasks import JSON, Blueprint, TaskContext
from aether.storage import ObjectStore

Q = load_queries(__file__, "release.sql")
log = logging.getLogger(__name__)

MAIL_TASK = "mail.notify_episode"


tasks = Blueprint()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _output(payload: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    return dict(value) if isinstance(value, Mapping) else {}


def _required(output: Mapping[str, Any], key: str, step: str) -> Any:
    value = output.get(key)
    if value is None or value == "":
        raise ValidationFailed(f"the {step} step's output has no {key}", field=f"{step}.{key}")
    return value


def links(settings: Settings, episode: Mapping[str, Any]) -> tuple[str, str]:
    """(episode page URL, show feed URL) as the gateway serves them."""
    base = public_url(settings)
    return f"{base}/episodes/{episode['id']}", base + feed_path(str(episode["show_slug"]))


async def chapter_list(settings: Settings, chapters_uri: str | None) -> list[dict[str, Any]]:
    """The episode's chapters as the youtube agent wants them: [{start, title}], increasing starts."""
    if not chapters_uri:
        return []

    data = await asyncio.to_thread(ObjectStore.from_settings(settings).get_bytes, chapters_uri)
    try:
        chapters = from_json(data.decode())
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed(
            f"the chapters at {chapters_uri} cannot be read: {exc}", field="voice.chapters_uri"
        ) from None
    out: list[dict[str, Any]] = []
    for chapter in chapters:
        if chapter.title.strip() and (not out or chapter.start > out[-1]["start"]):
            out.append({"start": round(chapter.start, 3), "title": chapter.title.strip()})
    return out


def _step_outputs(state: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(step["step_name"]): dict(step["output_summary"])
        for step in state["steps"]
        if step["status"] == "completed" and isinstance(step.get("output_summary"), Mapping)
    }


async def episode_notes(
    conn: AsyncConnection, settings: Settings, episode: Mapping[str, Any], *, chapters_uri: str | None = None
) -> ShowNotes:
    """The show notes of an episode from what its workflow made: the script, the stories it was made from
    (its provenance) and the chapters the voice step wrote (`chapters_uri`: those of the audio being
    released, which may be a later render than the episode's first workflow made)."""
    outputs: dict[str, dict[str, Any]] = {}
    if episode.get("workflow_id"):
        try:
            outputs = _step_outputs(await get_workflow_state(conn, str(episode["workflow_id"])))
        except NotFound:
            outputs = {}
    script = outputs.get("script", {}).get("script")
    origin = await provenance(conn, dict(episode))
    params = episode.get("params") if isinstance(episode.get("params"), Mapping) else {}
    assert isinstance(params, Mapping)
    try:
        chapters = await chapter_list(settings, chapters_uri or outputs.get("voice", {}).get("chapters_uri"))
    except (ValidationFailed, NotFound) as exc:  # notes without chapter times rather than none at all
        log.warning("show notes of episode %s without chapters: %s", episode.get("id"), exc)
        chapters = []
    return build_notes(
        script if isinstance(script, Mapping) else None,
        origin["stories"],
        chapters,
        show_title=_text(episode.get("show_title")) or _text(params.get("show_title")),
        title=_text(episode.get("title")),
        topic=_text(params.get("topic")),
        description=_text(episode.get("description")),
    )


async def store_notes(conn: AsyncConnection, episode_id: str, notes: ShowNotes) -> None:
    await conn.execute(Q.store_notes, {"id": episode_id, "notes": Jsonb(notes.as_json())})


async def ensure_notes(conn: AsyncConnection, settings: Settings, episode_id: str) -> dict[str, Any] | None:
    """The notes of a published episode, made and stored now if it has none yet (None while unpublished)."""
    episode = await conn.execute(Q.episode_with_show, {"id": episode_id})
    row = await episode.fetchone()
    if row is None or row["status"] != "published":
        return None
    if isinstance(row["notes"], dict):
        return dict(row["notes"])
    notes = await episode_notes(conn, settings, dict(row))
    await store_notes(conn, episode_id, notes)
    return notes.as_json()


def telegram_payload(
    targets: PublishTargets, episode: Mapping[str, Any], common: dict[str, Any], voice: Mapping[str, Any],
    cover: Mapping[str, Any],
) -> JSON:  # fmt: skip
    assert targets.telegram is not None
    return {
        **common,
        "chat_ids": list(targets.telegram.chat_ids),
        "performer": _text(episode.get("show_author")) or _text(episode.get("show_title")) or "Aether",
        "audio": _required(voice, "audio_uri", "voice"),
        "cover": cover.get("cover_uri"),
        "duration_seconds": voice.get("duration_s"),
    }


async def youtube_payload(
    ctx: TaskContext, targets: PublishTargets, episode: Mapping[str, Any], common: dict[str, Any],
    params: Mapping[str, Any], voice: Mapping[str, Any], video: Mapping[str, Any], cover: Mapping[str, Any],
    notes: ShowNotes,
) -> JSON:  # fmt: skip
    """Show settings first, then the youtube agent's `config`, then YouTube's safe defaults. The title names
    the show; the description is the show notes (the agent adds the chapters and the links)."""
    target = targets.youtube
    assert target is not None
    if not video.get("video_uri"):
        raise ValidationFailed(
            "the YouTube target needs the episode video, but the video step rendered none", field="video.video_uri"
        )
    config = await agent_config(ctx.db, "youtube")

    def pick(name: str, default: Any) -> Any:
        chosen = getattr(target, name)
        return chosen if chosen is not None else config.get(name, default)

    show, title = _text(episode.get("show_title")), str(common["title"])
    if show and show.casefold() not in title.casefold():
        title = f"{title} | {show}"  # the video names its show
    return {
        **common,
        "title": title,
        "description": notes.text(chapters=False),
        "video": video["video_uri"],
        "short": video.get("clip_uri") if target.shorts else None,
        "cover": cover.get("cover_uri"),
        "chapters": await chapter_list(ctx.settings, voice.get("chapters_uri")),
        "tags": pick("tags", []),
        "category_id": str(pick("category_id", "28")),
        "privacy_status": pick("privacy_status", "private"),
        "made_for_kids": bool(pick("made_for_kids", False)),
        "language": _text(params.get("language")) or _text(episode.get("show_language")) or "en",
    }


async def _publish_episode(conn: AsyncConnection, episode_id: str, workflow_id: str | None) -> bool:
    """Mark the episode published (once) and enqueue its subscribers' mail with that change."""
    cur = await conn.execute(Q.publish_episode, {"id": episode_id, "workflow_id": workflow_id})
    if await cur.fetchone() is None:
        return False
    await enqueue(
        conn,
        # the task and de-duplication key the gateway's trigger (migration 0007) uses on completion
        [NewTask(MAIL_TASK, "mail", {"episode_id": episode_id}, dedupe_key=f"{MAIL_TASK}:{episode_id}")],
    )
    return True


async def release(ctx: TaskContext, payload: JSON) -> JSON:
    params = _output(payload, "params")
    voice, video, cover = _output(payload, "voice"), _output(payload, "video"), _output(payload, "cover")
    episode_id = params.get("episode_id")
    platforms = payload.get("platforms") or []
    if not isinstance(episode_id, str) or not episode_id:
        if platforms:
            raise ValidationFailed("params.episode_id is required: only a show's episode can be posted", field="params")
        return {"episode_id": None, "published": False, "render_version": None}
    targets = parse_targets(params.get("publish"), field="params.publish")
    if not isinstance(platforms, list) or not set(platforms) <= set(PAYLOAD_KEYS):
        raise ValidationFailed(f"platforms must be a list of {', '.join(PAYLOAD_KEYS)}", field="platforms")

    episode = await ctx.db.fetch_one(Q.episode_with_show, {"id": episode_id})
    if episode is None:
        raise NotFound(f"no episode {episode_id}", field="params.episode_id")
    # every payload is built (and checked) before the episode goes out
    page_url, feed_url = links(ctx.settings, episode)
    async with ctx.db.connection() as conn:
        notes = await episode_notes(conn, ctx.settings, episode, chapters_uri=voice.get("chapters_uri"))
    common = {
        "title": _text(episode.get("title")),
        "description": notes.summary,
        "page_url": page_url,
        "feed_url": feed_url,
        "show_id": episode["show_id"],
        "episode_id": episode_id,
    }
    out: JSON = {
        "episode_id": episode_id,
        "published": False,
        "render_version": None,
        "page_url": page_url,
        "feed_url": feed_url,
    }
    if "telegram" in platforms:
        if targets.telegram is None:
            raise ValidationFailed("the show has no telegram target", field="params.publish.telegram")
        out["telegram"] = telegram_payload(targets, episode, common, voice, cover)
    if "youtube" in platforms:
        if targets.youtube is None:
            raise ValidationFailed("the show has no youtube target", field="params.publish.youtube")
        out["youtube"] = await youtube_payload(ctx, targets, episode, common, params, voice, video, cover, notes)
    if "websub" in platforms:
        out["websub"] = {"feed_url": feed_url, "show_id": episode["show_id"]}

    async with ctx.db.transaction() as conn:
        await store_notes(conn, episode_id, notes)  # with the publication, in its transaction
        out["published"] = await _publish_episode(conn, episode_id, ctx.workflow_id)
        cur = await conn.execute(Q.episode_with_show, {"id": episode_id})
        row = await cur.fetchone()
        assert row is not None
        if row["status"] != "published":
            raise ValidationFailed(f"episode {episode_id} is {row['status']}; it cannot be released", field="status")
        # the feed lists this version from now on
        out["render_version"] = await finish_render(conn, episode_id, ctx.workflow_id, voice, video, cover)
        if out["render_version"] is None:
            await link_assets(conn, dict(row))
    if out["published"]:
        log.info("episode %s published", episode_id, extra={"workflow_id": ctx.workflow_id})
    return out


@tasks.task(RELEASE_TASK, agent=RELEASE_AGENT)
async def release_handler(ctx: TaskContext, payload: JSON) -> JSON:
    try:
        return await release(ctx, payload)
    except (ValidationFailed, NotFound) as exc:
        raise PermanentError(exc.message) from exc
