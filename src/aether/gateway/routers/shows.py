"""Shows: /v1/shows (a user sees and changes only their own)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from aether import storage
from aether.db.pagination import decode_cursor, encode_cursor
from aether.errors import ValidationFailed
from aether.gateway.deps import DB, AppSettings, CurrentUser, QueueHooks, base_url
from aether.podcasts import schedule, shows
from aether.podcasts.models import ShowIn, ShowPatch
from aether.providers import netguard

router = APIRouter(prefix="/v1/shows", tags=["shows"])


@router.post("", status_code=201, summary="Create a show")
async def create(body: ShowIn, user: CurrentUser, db: DB, request: Request, settings: AppSettings) -> dict[str, Any]:
    base = base_url(request, settings)
    await netguard.check_urls(body.sources, field="sources", allow_private=settings.fetch_allow_private)
    fields = body.model_dump(exclude={"slug"})
    if body.schedule:
        schedule.check_interval(body.schedule, settings.schedule_min_interval_minutes)
    async with db.transaction() as conn:
        row = await shows.create_show(
            conn, user.user_id, fields, base_url=base, explicit_slug=body.slug, settings=settings
        )
    request.app.state.feed_cache.forget(row["slug"])
    return {"show": shows.show_json(row, base)}


@router.get("", summary="My shows, newest first (keyset pagination)")
async def list_shows(
    user: CurrentUser,
    db: DB,
    request: Request,
    settings: AppSettings,
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, max_length=500),
) -> dict[str, Any]:
    after = decode_cursor(cursor, ("id",)) if cursor else None
    if after is not None and not isinstance(after[0], int):
        raise ValidationFailed("cursor is not a cursor this API returned", field="cursor")
    async with db.connection(readonly=True) as conn:
        cur = await conn.execute(
            shows.Q.list_own_shows,
            {"user_id": user.user_id, "after_id": after[0] if after else None, "limit": limit + 1},
        )
        rows = [dict(r) for r in await cur.fetchall()]
    base = base_url(request, settings)
    next_cursor = encode_cursor((rows[limit - 1]["id"],)) if len(rows) > limit else None
    return {"items": [shows.show_json(r, base) for r in rows[:limit]], "next_cursor": next_cursor}


@router.get("/{show_id}", summary="One of my shows")
async def get_show(show_id: int, user: CurrentUser, db: DB, request: Request, settings: AppSettings) -> dict[str, Any]:
    async with db.connection() as conn:
        row = await shows.own_show(conn, user.user_id, show_id)
    return {"show": shows.show_json(row, base_url(request, settings))}


@router.patch("/{show_id}", summary="Change a show")
async def patch_show(
    show_id: int, body: ShowPatch, user: CurrentUser, db: DB, request: Request, settings: AppSettings
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    for key in (
        "title", "language", "category", "explicit", "hosts", "sources", "pronunciations", "music", "loudness_lufs",
        "review",
    ):  # fmt: skip
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key} cannot be null", field=key)
    await netguard.check_urls(changes.get("sources"), field="sources", allow_private=settings.fetch_allow_private)
    if changes.get("schedule"):
        schedule.check_interval(changes["schedule"], settings.schedule_min_interval_minutes)
    async with db.transaction() as conn:
        row = await shows.update_show(conn, user.user_id, show_id, changes, settings=settings)
    request.app.state.feed_cache.forget(row["slug"])
    return {"show": shows.show_json(row, base_url(request, settings))}


@router.delete(
    "/{show_id}",
    status_code=204,
    summary="Delete a show with its episodes and subscribers; its running workflows are cancelled and the "
    "objects only it used are deleted",
)
async def delete(
    show_id: int, user: CurrentUser, db: DB, request: Request, settings: AppSettings, hooks: QueueHooks
) -> Response:
    async with db.transaction() as conn:
        row = await shows.own_show(conn, user.user_id, show_id, for_update=True)
        uris = await shows.delete_show(conn, user.user_id, show_id, hooks=hooks)
    await storage.delete_objects(uris, settings)
    request.app.state.feed_cache.forget(row["slug"])
    return Response(status_code=204)
