"""Server-rendered web pages (Jinja2 + HTMX, no external CDN): home, shows, episodes with player,
create-episode with live progress, account, admin, subscription links."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from aether.db import AsyncConnection, jsonable
from aether.errors import AetherError, Forbidden, NotFound, rule_in_words
from aether.gateway.deps import (
    ANON_CSRF_COOKIE,
    CSRF_FIELD,
    DB,
    SESSION_COOKIE,
    AppSettings,
    OptionalUser,
    QueueHooks,
    base_url,
    client_ip,
    forget_session,
    is_https,
)
from aether.gateway.errors import http_status
from aether.gateway.pages.render import login_redirect, render
from aether.media.cover import show_cover_png
from aether.orchestrator import cancel_workflow, retry_workflow
from aether.podcasts import episodes, scripts, shows, subscribers, voices
from aether.podcasts.demo import demo_episode
from aether.podcasts.models import Preferences, RegisterIn, ShowIn, SubscribeIn
from aether.providers import netguard
from aether.queue import cancel, retry
from aether.security import accounts, sessions
from aether.security.sessions import LoginLimits, Session, csrf_token, tokens_match

router = APIRouter(include_in_schema=False)


async def _form(request: Request, user: Session | None) -> dict[str, str]:
    """The posted form, after checking its CSRF token (session-bound, or the anonymous cookie's)."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    given_text = given if isinstance(given, str) else None
    ok = (user is not None and tokens_match(csrf_token(user.token), given_text)) or (
        tokens_match(request.cookies.get(ANON_CSRF_COOKIE) or "\x00", given_text)
    )
    if not ok:
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page and try again", field=CSRF_FIELD)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return "/"


def _error_message(exc: Exception) -> tuple[str, str | None]:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        return f"{field}: {rule_in_words(err)}", field
    if isinstance(exc, AetherError):
        return exc.message, exc.field
    raise exc


# ---- home, shows, episodes ------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, user: OptionalUser, db: DB) -> HTMLResponse:
    async with db.connection() as conn:
        cur = await conn.execute(episodes.Q.latest_published, {"limit": 20})
        latest = [dict(r) for r in await cur.fetchall()]
        cur = await conn.execute(shows.Q.all_shows)
        all_shows = [dict(r) for r in await cur.fetchall()]
        demo = None if latest else await demo_episode(conn)  # nothing published yet: how the demo is doing
    return render(request, "home.html", user, latest=latest, shows=all_shows, demo=demo)


@router.get("/shows/new", response_class=HTMLResponse)
async def new_show_page(request: Request, user: OptionalUser) -> Response:
    if user is None:
        return login_redirect(request)
    return render(request, "show_new.html", user, values={}, error=None)


@router.post("/shows/new", response_class=HTMLResponse)
async def new_show(request: Request, user: OptionalUser, db: DB, settings: AppSettings) -> Response:
    if user is None:
        return login_redirect(request)
    form = await _form(request, user)
    try:
        body = ShowIn(
            title=form.get("title", ""),
            description=form.get("description", ""),
            author=form.get("author", ""),
            language=form.get("language") or "en",
            category=form.get("category") or "Technology",
            explicit=form.get("explicit") == "on",
            hosts=[h.strip() for h in form.get("hosts", "").split(",") if h.strip()],
            sources=[s.strip() for s in form.get("sources", "").split() if s.strip()],
        )
        await netguard.check_urls(body.sources, field="sources", allow_private=settings.fetch_allow_private)
        async with db.transaction() as conn:
            row = await shows.create_show(
                conn,
                user.user_id,
                body.model_dump(exclude={"slug"}),
                base_url=base_url(request, settings),
                explicit_slug=None,
                settings=settings,
            )
    except (ValidationError, AetherError) as exc:
        message, field = _error_message(exc)
        return render(request, "show_new.html", user, status_code=422, values=form, error=message, field=field)
    return RedirectResponse(f"/shows/{row['slug']}", status_code=303)


@router.get("/shows/{slug}", response_class=HTMLResponse)
async def show_page(slug: str, request: Request, user: OptionalUser, db: DB) -> HTMLResponse:
    async with db.connection() as conn:
        show = await shows.show_by_slug(conn, slug)
        if show is None:
            raise NotFound(f"no show {slug}", field="slug")
        cur = await conn.execute(
            episodes.Q.list_show_episodes, {"show_id": show["id"], "after_created": None, "after_id": None, "limit": 50}
        )
        items = [dict(r) for r in await cur.fetchall()]
    owner = user is not None and user.user_id == show["user_id"]
    visible = items if owner else [e for e in items if e["status"] == "published"]
    return render(request, "show.html", user, show=show, episodes=visible, owner=owner)


@router.get("/shows/{slug}/settings", response_class=HTMLResponse)
async def show_settings_page(slug: str, request: Request, user: OptionalUser, db: DB) -> Response:
    """The show bible, for its owner: hosts with personas and voices, pronunciations, intro and outro,
    music, loudness, language, review (saved by PATCH /v1/shows/{id}, studio.js)."""
    if user is None:
        return login_redirect(request)
    async with db.connection() as conn:
        show = await shows.show_by_slug(conn, slug)
    if show is None or show["user_id"] != user.user_id:
        raise NotFound(f"no show {slug} of yours", field="slug")
    hosts = shows.stored_hosts(show.get("hosts") or list(voices.DEFAULT_HOSTS))
    return render(
        request,
        "show_settings.html",
        user,
        show=show,
        hosts=hosts + [{"name": "", "persona": "", "voice": None}] * (4 - len(hosts)),
        pronunciations=list(show.get("pronunciations") or []),
    )


@router.get("/shows/{slug}/cover.png")
async def show_cover(slug: str, request: Request, db: DB) -> Response:
    async with db.connection() as conn:
        show = await shows.show_by_slug(conn, slug)
    if show is None:
        raise NotFound(f"no show {slug}", field="slug")
    png = await asyncio.to_thread(show_cover_png, show["title"], str(show["guid"]))
    etag = '"' + hashlib.sha256(png).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(png, media_type="image/png", headers=headers)


@router.post("/shows/{slug}/subscribe", response_class=HTMLResponse)
async def subscribe_form(slug: str, request: Request, user: OptionalUser, db: DB, settings: AppSettings) -> Response:
    form = await _form(request, user)
    async with db.connection() as conn:
        show = await shows.show_by_slug(conn, slug)
    if show is None:
        raise NotFound(f"no show {slug}", field="slug")
    try:
        body = SubscribeIn(email=form.get("email", ""))
        async with db.transaction() as conn:
            await subscribers.subscribe(conn, settings, show, body.email, base_url(request, settings))
    except (ValidationError, AetherError) as exc:
        message, _ = _error_message(exc)
        return render(request, "_subscribe_result.html", user, status_code=422, ok=False, message=message)
    message = f"Almost done: we mailed a confirmation link to {body.email}."
    return render(request, "_subscribe_result.html", user, ok=True, message=message)


@router.get("/shows/{slug}/episodes/new", response_class=HTMLResponse)
async def new_episode_page(slug: str, request: Request, user: OptionalUser, db: DB) -> Response:
    if user is None:
        return login_redirect(request)
    async with db.connection() as conn:
        show = await shows.show_by_slug(conn, slug)
    if show is None or show["user_id"] != user.user_id:
        raise NotFound(f"no show {slug}", field="slug")
    return render(
        request, "episode_new.html", user, show=show, prefs=user.preferences, idempotency_key=secrets.token_hex(16)
    )


@router.get("/episodes/{episode_id}", response_class=HTMLResponse)
async def episode_page(
    episode_id: str, request: Request, user: OptionalUser, db: DB, settings: AppSettings
) -> Response:
    async with db.connection() as conn:
        row = await episodes.public_episode(conn, episode_id)
        owner = user is not None and user.user_id == row["owner_id"]
        if row["status"] != "published" and not owner and not (user is not None and user.is_admin):
            raise NotFound(f"no episode {episode_id}", field="episode_id")
        state = await episodes.progress(conn, row) if row["status"] != "published" else None
        provenance = await episodes.provenance(conn, row)
        script = await _studio_script(conn, row) if owner else None
    media = episodes.media_urls(row, base_url(request, settings))
    return render(
        request,
        "episode.html",
        user,
        episode=row,
        media=media,
        provenance=provenance,
        state=state,
        owner=owner,
        script=script,
        hosts=[h["name"] for h in (script or {}).get("hosts", [])],
        published=jsonable.value(row.get("published_at")),
    )


async def _studio_script(conn: AsyncConnection, row: dict[str, Any]) -> dict[str, Any] | None:
    """The script the owner edits on the episode page (its latest version), None before it is written."""
    try:
        version, script = await scripts.latest(conn, str(row["id"]))
    except NotFound:
        return None
    return scripts.document(version, script) | {"hosts": script.get("hosts") or []}


# ---- accounts -----------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, user: OptionalUser) -> HTMLResponse:
    return render(request, "login.html", user, next=_safe_next(request.query_params.get("next")), error=None)


def _set_session_cookie(response: Response, request: Request, token: str, settings: Any) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_ttl_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=is_https(request, settings),
        path="/",
    )


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, user: OptionalUser, db: DB, settings: AppSettings) -> Response:
    form = await _form(request, user)
    target = _safe_next(form.get("next"))
    try:
        async with db.connection() as conn:
            token, _, _ = await accounts.login(
                conn,
                form.get("email", "").strip(),
                form.get("password", ""),
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
                ttl_s=settings.session_ttl_hours * 3600,
                limits=LoginLimits.of(settings),
            )
    except AetherError as exc:
        return render(
            request,
            "login.html",
            None,
            status_code=http_status(exc),
            next=target,
            error=exc.message,
            email=form.get("email", ""),
        )
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(response, request, token, settings)
    return response


@router.get("/register", response_class=HTMLResponse)
async def register_page(request: Request, user: OptionalUser) -> HTMLResponse:
    return render(request, "register.html", user, values={}, error=None)


@router.post("/register", response_class=HTMLResponse)
async def register(request: Request, user: OptionalUser, db: DB, settings: AppSettings) -> Response:
    form = await _form(request, user)
    try:
        body = RegisterIn(
            email=form.get("email", ""),
            password=form.get("password", ""),
            display_name=form.get("display_name") or None,
        )
        async with db.transaction() as conn:
            await accounts.register(conn, body.email, body.password, body.display_name)
        async with db.connection() as conn:
            token, _, _ = await accounts.login(
                conn,
                body.email,
                body.password,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
                ttl_s=settings.session_ttl_hours * 3600,
                limits=LoginLimits.of(settings),
            )
    except (ValidationError, AetherError) as exc:
        message, field = _error_message(exc)
        values = {k: v for k, v in form.items() if k != "password"}
        return render(request, "register.html", None, status_code=422, values=values, error=message, field=field)
    response = RedirectResponse("/shows/new", status_code=303)
    _set_session_cookie(response, request, token, settings)
    return response


@router.post("/logout")
async def logout(request: Request, user: OptionalUser, db: DB) -> Response:
    if user is not None:
        await _form(request, user)
        async with db.transaction() as conn:
            await sessions.revoke_session(conn, user.user_id, user.session_id)
        forget_session(request, user.session_id)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account", response_class=HTMLResponse)
async def account(request: Request, user: OptionalUser, db: DB) -> Response:
    if user is None:
        return login_redirect(request)
    async with db.connection() as conn:
        live = await sessions.list_sessions(conn, user.user_id)
        cur = await conn.execute(shows.Q.list_own_shows, {"user_id": user.user_id, "after_id": None, "limit": 100})
        own = [dict(r) for r in await cur.fetchall()]
    return render(request, "account.html", user, sessions=live, shows=own, error=None, saved=False)


@router.post("/account/preferences", response_class=HTMLResponse)
async def save_preferences(request: Request, user: OptionalUser, db: DB) -> Response:
    if user is None:
        return login_redirect(request)
    form = await _form(request, user)
    try:
        prefs = Preferences(
            hosts=[h.strip() for h in form.get("hosts", "").split(",") if h.strip()] or None,
            voice=form.get("voice") or None,
            voice_speed=float(form["voice_speed"]) if form.get("voice_speed") else None,
            episode_minutes=int(form["episode_minutes"]) if form.get("episode_minutes") else None,
            language=form.get("language") or None,
        )
    except (ValidationError, ValueError) as exc:
        message = _error_message(exc)[0] if isinstance(exc, ValidationError) else "numbers only, please"
        return render(request, "account.html", user, status_code=422, sessions=[], shows=[], error=message, saved=False)
    async with db.transaction() as conn:
        await sessions.set_preferences(conn, user.session_id, prefs.model_dump(exclude_none=True))
    forget_session(request, user.session_id)
    return RedirectResponse("/account", status_code=303)


@router.post("/account/sessions/{session_id}/revoke")
async def revoke_session(session_id: str, request: Request, user: OptionalUser, db: DB) -> Response:
    if user is None:
        return login_redirect(request)
    await _form(request, user)
    try:
        async with db.transaction() as conn:
            found = await sessions.revoke_session(conn, user.user_id, session_id)
    except Exception:
        found = False
    if not found:
        raise NotFound(f"no session {session_id}", field="session_id")
    forget_session(request, session_id)
    return RedirectResponse("/account" if session_id != user.session_id else "/", status_code=303)


# ---- admin ---------------------------------------------------------------------------------------


@router.post("/admin/workflows/{workflow_id}/{action}")
async def admin_workflow(
    workflow_id: str, action: str, request: Request, user: OptionalUser, db: DB, hooks: QueueHooks
) -> Response:
    if user is None:
        return login_redirect(request)
    if not user.is_admin:
        raise Forbidden("this needs the admin role")
    await _form(request, user)

    async with db.connection() as conn:
        if action == "retry":
            await retry_workflow(conn, workflow_id)
        elif action == "cancel":
            await cancel_workflow(conn, workflow_id, hooks=hooks, reason=f"cancelled by {user.email}")
        else:
            raise NotFound(f"no action {action}", field="action")
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/tasks/{task_id}/{action}")
async def admin_task(
    task_id: int, action: str, request: Request, user: OptionalUser, db: DB, hooks: QueueHooks
) -> Response:
    if user is None:
        return login_redirect(request)
    if not user.is_admin:
        raise Forbidden("this needs the admin role")
    await _form(request, user)

    async with db.transaction() as conn:
        if action == "retry":
            await retry(conn, task_id)
        elif action == "cancel":
            await cancel(conn, task_id, hooks=hooks)
        else:
            raise NotFound(f"no action {action}", field="action")
    return RedirectResponse("/admin", status_code=303)


# ---- subscription links ---------------------------------------------------------------------------


@router.get("/subscribe/confirm", response_class=HTMLResponse)
async def confirm_page(request: Request, user: OptionalUser, db: DB) -> HTMLResponse:
    token = request.query_params.get("token", "")
    try:
        async with db.transaction() as conn:
            row = await subscribers.confirm(conn, token)
            cur = await conn.execute("SELECT slug, title FROM shows WHERE id = %(id)s", {"id": row["show_id"]})
            show = await cur.fetchone()
    except AetherError as exc:
        return render(request, "message.html", user, status_code=404, title="Link not valid", message=exc.message)
    title = show["title"] if show else "the show"
    return render(
        request, "message.html", user, title="Subscribed", message=f"{row['email']} now gets new episodes of {title}."
    )


@router.get("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_page(request: Request, user: OptionalUser) -> HTMLResponse:
    return render(request, "unsubscribe.html", user, token=request.query_params.get("token", ""), done=None)


@router.post("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe(request: Request, user: OptionalUser, db: DB) -> HTMLResponse:
    form = await request.form()
    token = form.get("token") or request.query_params.get("token") or ""
    one_click = form.get("List-Unsubscribe") == "One-Click"
    if not one_click:
        await _form(request, user)
    try:
        async with db.transaction() as conn:
            row = await subscribers.unsubscribe(conn, str(token))
    except AetherError as exc:
        return render(request, "message.html", user, status_code=404, title="Link not valid", message=exc.message)
    return render(request, "unsubscribe.html", user, token="", done=row["email"])
