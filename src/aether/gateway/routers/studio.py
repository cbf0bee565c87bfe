"""The studio, for an episode's owner: read the script (its version as ETag), replace it (If-Match: the
version read; a stale one is 412, none is 428), list its versions; approve a script held for review;
render a finished episode again after an edit; list the episode's audio versions and prune old ones."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Request, Response

from aether.config import Settings
from aether.db import Database
from aether.errors import PreconditionRequired, ValidationFailed
from aether.gateway.deps import DB, AppSettings, CurrentUser, base_url
from aether.podcasts import episodes, scripts, studio
from aether.podcasts.scripts import ScriptEdit
from aether.security.sessions import Session
from aether.storage import delete_objects

router = APIRouter(prefix="/v1/episodes", tags=["studio"])


def _etag(version: int) -> str:
    return f'"{version}"'


def _if_match(value: str | None) -> int:
    if value is None or not value.strip():
        raise PreconditionRequired(
            "send If-Match with the script version you read (GET answers it as ETag)", field="If-Match"
        )
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationFailed(f'If-Match must be a script version such as "3" (got {value!r})', field="If-Match")
    return int(raw)


@router.get(
    "/{episode_id}/script",
    summary="The episode's script: segments of lines (id, speaker, text, sources); its version is the ETag",
    responses={404: {"description": "No such episode of yours, or no script yet"}},
)
async def get_script(episode_id: str, user: CurrentUser, db: DB, response: Response) -> dict[str, Any]:
    async with db.connection() as conn:
        episode = await episodes.own_episode(conn, user.user_id, episode_id)
        version, script = await scripts.latest(conn, str(episode["id"]))
    response.headers["ETag"] = _etag(version)
    return scripts.document(version, script)


@router.put(
    "/{episode_id}/script",
    summary="Replace the script (edit, add, delete lines, change speakers); If-Match: the version read",
    responses={
        404: {"description": "No such episode of yours, or no script yet"},
        412: {"description": "The script changed since that version"},
        422: {"description": "The document breaks a rule (the field is named)"},
        428: {"description": "If-Match is missing"},
    },
)
async def put_script(
    episode_id: str,
    body: ScriptEdit,
    user: CurrentUser,
    db: DB,
    response: Response,
    if_match: str | None = Header(None, alias="If-Match"),
) -> dict[str, Any]:
    expected = _if_match(if_match)
    async with db.transaction() as conn:
        episode = await episodes.own_episode(conn, user.user_id, episode_id)
        version, script = await scripts.replace(conn, str(episode["id"]), expected, body, author=f"user:{user.user_id}")
    response.headers["ETag"] = _etag(version)
    return scripts.document(version, script)


@router.get("/{episode_id}/script/versions", summary="Every version of the script: who, when, how many words")
async def script_versions(episode_id: str, user: CurrentUser, db: DB) -> dict[str, Any]:
    async with db.connection() as conn:
        episode = await episodes.own_episode(conn, user.user_id, episode_id)
        rows = await scripts.history(conn, str(episode["id"]))
    return {"items": [{**r, "created_at": r["created_at"].isoformat() + "Z"} for r in rows]}


_RENDER_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such episode of yours"},
    409: {"description": "The episode is not in a state that allows this (the message says why)"},
}


@router.post(
    "/{episode_id}/approve",
    status_code=202,
    summary="Approve the script of an episode in review: its audio is made and it is published",
    responses=_RENDER_RESPONSES,
)
async def approve(episode_id: str, user: CurrentUser, db: DB, settings: AppSettings) -> dict[str, Any]:
    return await _start_render(episode_id, user, db, settings, approve=True)


@router.post(
    "/{episode_id}/render",
    status_code=202,
    summary="Make a new audio version of a published episode from its latest script (only changed lines are spoken)",
    responses=_RENDER_RESPONSES,
)
async def render(episode_id: str, user: CurrentUser, db: DB, settings: AppSettings) -> dict[str, Any]:
    return await _start_render(episode_id, user, db, settings, approve=False)


async def _start_render(
    episode_id: str, user: Session, db: Database, settings: Settings, *, approve: bool
) -> dict[str, Any]:
    """Approve (an episode in review) or render again (a published one): the new audio version, started."""
    async with db.transaction() as conn:
        episode = await episodes.own_episode(conn, user.user_id, episode_id)
        started = await studio.start_render(conn, episode, user_id=user.user_id, settings=settings, approve=approve)
    status = "processing" if approve else str(episode["status"])
    return {"episode_id": str(episode["id"]), "status": status, **started}


@router.get("/{episode_id}/renders", summary="The episode's audio versions, newest first, each with its media URLs")
async def renders(
    episode_id: str, user: CurrentUser, db: DB, request: Request, settings: AppSettings
) -> dict[str, Any]:
    async with db.connection() as conn:
        episode = await episodes.own_episode(conn, user.user_id, episode_id)
        rows = await studio.renders(conn, str(episode["id"]))
    base = base_url(request, settings)
    items = []
    for row in rows:
        item = studio.render_json(row) or {}
        ready = row["status"] == "ready"
        item["media"] = (
            episodes.media_urls(
                row | {"render_version": row["version"], "cover_asset_id": None}, base, str(episode["id"])
            )
            if ready
            else None
        )
        items.append(item)
    return {"items": items}


@router.delete(
    "/{episode_id}/renders/{version}",
    status_code=204,
    summary="Prune an older audio version: it leaves the list and its media go (not the current version)",
    responses=_RENDER_RESPONSES,
)
async def prune_render(episode_id: str, version: int, user: CurrentUser, db: DB, settings: AppSettings) -> Response:
    async with db.transaction() as conn:
        episode = await episodes.own_episode(conn, user.user_id, episode_id)
        uris = await studio.prune_render(conn, str(episode["id"]), version)
    await delete_objects(uris, settings)
    return Response(status_code=204)
