"""Episodes: create (idempotent, starts the `podcast_episode` workflow), list, detail, progress, live
progress by server-sent events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from aether.db.jsonable import dumps
from aether.gateway.announce import PageCache
from aether.gateway.deps import DB, AppSettings, CurrentUser, base_url, caller_id, reading
from aether.gateway.serialize import JSON
from aether.idempotency import idempotent_route
from aether.podcasts import episodes
from aether.podcasts.models import EpisodeIn
from aether.providers import netguard

create_router = APIRouter(prefix="/v1", tags=["episodes"], route_class=idempotent_route(caller=caller_id))
router = APIRouter(prefix="/v1", tags=["episodes"])

SSE_POLL_S = 0.5
SSE_KEEPALIVE_S = 15.0


@create_router.post(
    "/shows/{show_id}/episodes",
    status_code=202,
    summary="Create an episode (needs X-Idempotency-Key): starts the podcast_episode workflow",
)
async def create_episode(
    show_id: int, body: EpisodeIn, user: CurrentUser, db: DB, request: Request, settings: AppSettings
) -> JSON:
    await netguard.check_urls(body.sources, field="sources", allow_private=settings.fetch_allow_private)
    async with db.transaction() as conn:
        row = await episodes.start_episode(conn, user.user_id, user.preferences, show_id, body, settings=settings)
    base = base_url(request, settings)
    payload = {
        "episode": episodes.episode_json(row, base),
        "workflow_id": str(row["workflow_id"]),
        "events_url": f"{base}/v1/episodes/{row['id']}/events",
    }
    return JSON(payload, status_code=202, headers={"Location": f"/v1/episodes/{row['id']}"})


@router.get("/shows/{show_id}/episodes", summary="A show's episodes, newest first (keyset pagination)")
async def list_show_episodes(
    show_id: int,
    user: CurrentUser,
    db: DB,
    request: Request,
    settings: AppSettings,
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, max_length=500),
) -> Response:
    return await _episode_page(request, db, user.user_id, show_id, limit, cursor, base_url(request, settings))


@router.get("/episodes", summary="My episodes over all my shows, newest first (keyset pagination)")
async def list_my_episodes(
    user: CurrentUser,
    db: DB,
    request: Request,
    settings: AppSettings,
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, max_length=500),
) -> Response:
    return await _episode_page(request, db, user.user_id, None, limit, cursor, base_url(request, settings))


async def _episode_page(
    request: Request, db: Any, user_id: int, show_id: int | None, limit: int, cursor: str | None, base: str
) -> Response:
    """One keyset page of the user's episodes (of one show, or of all their shows). Pages of one show are
    kept rendered in memory until an episode of the show changes (`aether.gateway.announce.PageCache`)."""
    pages: PageCache = request.app.state.page_cache
    key = (user_id, show_id, limit, cursor, base)
    if show_id is not None and (body := pages.get(key)) is not None:
        return Response(body, media_type="application/json")
    generation = pages.generation(show_id) if show_id is not None else None
    async with reading(db) as conn:
        rows, next_cursor = await episodes.list_episodes(
            conn, user_id=user_id, show_id=show_id, limit=limit, cursor=cursor
        )
    body = dumps({"items": [episodes.episode_json(r, base) for r in rows], "next_cursor": next_cursor})
    if show_id is not None and generation is not None:
        pages.put(key, show_id, generation, body)
    return Response(body, media_type="application/json")


@router.get("/episodes/{episode_id}", summary="An episode with its media, sources and provenance")
async def get_episode(episode_id: str, user: CurrentUser, db: DB, request: Request, settings: AppSettings) -> JSON:
    async with db.connection() as conn:
        row = await episodes.own_episode(conn, user.user_id, episode_id)
        provenance = await episodes.provenance(conn, row)
        state = await episodes.progress(conn, row)
        render = await episodes.current_render(conn, row["id"])
    out = episodes.episode_json(row, base_url(request, settings))
    out["render"] = render
    out["show"] = {"id": row["show_id"], "slug": row["show_slug"], "title": row["show_title"]}
    out["params"] = row.get("params") or {}
    out["sources"] = provenance["sources"]
    out["provenance"] = provenance
    out["error"] = state.get("error")
    out["warnings"] = state.get("warnings") or []
    return JSON({"episode": out})


@router.get("/episodes/{episode_id}/progress", summary="The episode's workflow, step by step")
async def get_progress(episode_id: str, user: CurrentUser, db: DB) -> dict[str, Any]:
    async with db.connection() as conn:
        row = await episodes.own_episode(conn, user.user_id, episode_id)
        return await episodes.progress(conn, row)


@router.get(
    "/episodes/{episode_id}/events",
    summary="Live progress as server-sent events (`progress` on every change, `done` at the end)",
    response_class=StreamingResponse,
)
async def progress_events(episode_id: str, user: CurrentUser, db: DB, request: Request) -> StreamingResponse:
    async with db.connection() as conn:
        await episodes.own_episode(conn, user.user_id, episode_id)  # 404 before the stream starts
    return StreamingResponse(
        _events(db, user.user_id, episode_id, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(db: Any, user_id: int, episode_id: str, request: Request) -> AsyncIterator[bytes]:
    last: str | None = None
    loop = asyncio.get_running_loop()
    last_sent = loop.time()
    yield b"retry: 2000\n\n"
    while True:
        async with db.connection() as conn:
            row = await episodes.own_episode(conn, user_id, episode_id)
            state = await episodes.progress(conn, row)
        state["episode_status"] = row["status"]
        text = json.dumps(state, separators=(",", ":"))
        finished = bool(state.get("finished")) and row["status"] != "processing"
        if text != last:
            last = text
            last_sent = loop.time()
            yield f"event: progress\ndata: {text}\n\n".encode()
        elif loop.time() - last_sent > SSE_KEEPALIVE_S:
            last_sent = loop.time()
            yield b": keep-alive\n\n"
        if finished or (state.get("workflow") is None and row["status"] != "processing"):
            yield f"event: done\ndata: {json.dumps({'status': row['status']})}\n\n".encode()
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(SSE_POLL_S)
