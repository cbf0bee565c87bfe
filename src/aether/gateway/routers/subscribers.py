"""Subscribers: public subscribe / confirm / unsubscribe, and a show owner's list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from aether.db import jsonable
from aether.db.pagination import decode_cursor, encode_cursor
from aether.errors import NotFound, ValidationFailed
from aether.gateway.deps import DB, AppSettings, CurrentUser, base_url
from aether.podcasts import shows, subscribers
from aether.podcasts.models import Strict, SubscribeIn

router = APIRouter(prefix="/v1", tags=["subscribers"])


class TokenIn(Strict):
    token: str = Field(min_length=10, max_length=200)


@router.post("/public/shows/{slug}/subscribers", status_code=202, summary="Subscribe to a show by email")
async def subscribe(slug: str, body: SubscribeIn, db: DB, request: Request, settings: AppSettings) -> dict[str, Any]:
    async with db.transaction() as conn:
        show = await shows.show_by_slug(conn, slug)
        if show is None:
            raise NotFound(f"no show {slug}", field="slug")
        await subscribers.subscribe(conn, settings, show, body.email, base_url(request, settings))
    # the same answer whatever the address's state, so it tells nobody who subscribed
    return {"status": "pending", "message": f"a confirmation link was mailed to {body.email} if it needed one"}


@router.post("/subscribers/confirm", summary="Confirm a subscription with the mailed token")
async def confirm(body: TokenIn, db: DB) -> dict[str, Any]:
    async with db.transaction() as conn:
        row = await subscribers.confirm(conn, body.token)
    return {"status": "confirmed", "email": row["email"]}


@router.post("/subscribers/unsubscribe", summary="Unsubscribe with the token of any mail")
async def unsubscribe(body: TokenIn, db: DB) -> dict[str, Any]:
    async with db.transaction() as conn:
        row = await subscribers.unsubscribe(conn, body.token)
    return {"status": "unsubscribed", "email": row["email"]}


@router.get("/shows/{show_id}/subscribers", summary="My show's subscribers (keyset pagination)")
async def list_subscribers(
    show_id: int,
    user: CurrentUser,
    db: DB,
    limit: int = Query(50, ge=1, le=100),
    cursor: str | None = Query(None, max_length=500),
) -> dict[str, Any]:
    after = decode_cursor(cursor, ("id",))[0] if cursor else None
    if after is not None and not isinstance(after, int):
        raise ValidationFailed("cursor is not a cursor this API returned", field="cursor")
    async with db.connection() as conn:
        await shows.own_show(conn, user.user_id, show_id)
        cur = await conn.execute(
            subscribers.Q.list_subscribers, {"show_id": show_id, "after_id": after, "limit": limit + 1}
        )
        rows = [dict(r) for r in await cur.fetchall()]
    next_cursor = encode_cursor((rows[limit - 1]["id"],)) if len(rows) > limit else None
    return {"items": [jsonable.row(r) for r in rows[:limit]], "next_cursor": next_cursor}


@router.delete("/shows/{show_id}/subscribers/{subscriber_id}", status_code=204, summary="Remove a subscriber")
async def delete_subscriber(show_id: int, subscriber_id: int, user: CurrentUser, db: DB) -> Response:
    async with db.transaction() as conn:
        await shows.own_show(conn, user.user_id, show_id)
        cur = await conn.execute(subscribers.Q.delete_subscriber, {"id": subscriber_id, "show_id": show_id})
        if await cur.fetchone() is None:
            raise NotFound(f"no subscriber {subscriber_id}", field="subscriber_id")
    return Response(status_code=204)
