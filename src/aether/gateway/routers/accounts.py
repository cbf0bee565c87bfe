"""Users, login sessions and preferences: /v1/users, /v1/sessions, /v1/me."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from aether.db import jsonable
from aether.errors import NotFound
from aether.gateway.deps import DB, AdminUser, AppSettings, CurrentUser, client_ip, forget_session
from aether.podcasts.models import LoginIn, Preferences, RegisterIn
from aether.security import accounts, sessions
from aether.security.sessions import LoginLimits, csrf_token

router = APIRouter(prefix="/v1", tags=["accounts"])

USER_KEYS = ("id", "email", "display_name", "role")


@router.post("/users", status_code=201, summary="Register an account")
async def register(body: RegisterIn, db: DB) -> dict[str, Any]:
    async with db.transaction() as conn:
        user = await accounts.register(conn, body.email, body.password, body.display_name)
    return {"user": jsonable.row(user, (*USER_KEYS, "created_at"))}


@router.post("/sessions", status_code=201, summary="Log in: a bearer token for API clients")
async def login(body: LoginIn, request: Request, db: DB, settings: AppSettings) -> dict[str, Any]:
    async with db.connection() as conn:
        token, session, user = await accounts.login(
            conn,
            body.email,
            body.password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            ttl_s=settings.session_ttl_hours * 3600,
            limits=LoginLimits.of(settings),
        )
    return {
        "token": token,
        "token_type": "bearer",
        "session_id": str(session["session_id"]),
        "expires_at": jsonable.value(session["expires_at"]),
        "user": jsonable.row(user, USER_KEYS),
    }


@router.get("/me", summary="The logged-in user, session and preferences")
async def me(user: CurrentUser) -> dict[str, Any]:
    return {
        "user": {"id": user.user_id, "email": user.email, "display_name": user.display_name, "role": user.role},
        "session_id": user.session_id,
        "expires_at": jsonable.value(user.expires_at),
        "preferences": user.preferences,
        "csrf_token": csrf_token(user.token),
    }


@router.get("/me/preferences", summary="Defaults for new episodes")
async def get_preferences(user: CurrentUser) -> dict[str, Any]:
    return {"preferences": user.preferences}


@router.put("/me/preferences", summary="Replace the defaults for new episodes")
async def put_preferences(body: Preferences, user: CurrentUser, db: DB, request: Request) -> dict[str, Any]:
    prefs = body.model_dump(exclude_none=True)
    async with db.transaction() as conn:
        saved = await sessions.set_preferences(conn, user.session_id, prefs)
    forget_session(request, user.session_id)
    return {"preferences": saved}


@router.get("/sessions", summary="My live sessions")
async def list_sessions(user: CurrentUser, db: DB) -> dict[str, Any]:
    async with db.connection() as conn:
        rows = await sessions.list_sessions(conn, user.user_id)
    items = [jsonable.row(r) | {"current": str(r["session_id"]) == user.session_id} for r in rows]
    return {"items": items}


@router.delete("/sessions/current", status_code=204, summary="Log out")
async def logout(user: CurrentUser, db: DB, request: Request) -> Response:
    async with db.transaction() as conn:
        await sessions.revoke_session(conn, user.user_id, user.session_id)
    forget_session(request, user.session_id)
    response = Response(status_code=204)
    response.delete_cookie("aether_session", path="/")
    return response


@router.delete("/sessions/{session_id}", status_code=204, summary="Revoke one of my sessions")
async def revoke(session_id: str, user: CurrentUser, db: DB, request: Request) -> Response:
    if not _is_uuid(session_id):
        raise NotFound(f"no session {session_id}", field="session_id")
    async with db.transaction() as conn:
        if not await sessions.revoke_session(conn, user.user_id, session_id):
            raise NotFound(f"no session {session_id}", field="session_id")
    forget_session(request, session_id)
    return Response(status_code=204)


@router.get("/admin/users", summary="Every account (admin)")
async def admin_users(admin: AdminUser, db: DB) -> dict[str, Any]:
    async with db.connection() as conn:
        cur = await conn.execute(accounts.Q.list_users)
        rows = await cur.fetchall()
    return {"items": [jsonable.row(r) for r in rows]}


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
