"""Dependencies of the gateway's routes: database, settings, the authenticated user, admin, CSRF.

Other routers use them as type aliases:

    from aether.gateway.deps import AdminUser, CurrentUser, DB

    @router.get("/v1/things")
    async def things(user: CurrentUser, db: DB) -> ...: ...

A request is authenticated by `Authorization: Bearer <token>` (API clients) or by the `aether_session`
cookie (the web). Unsafe methods authenticated by the cookie must carry the session's CSRF token in the
`X-CSRF-Token` header or a `csrf_token` form field.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aether.config import Settings
from aether.db import AsyncConnection, Database
from aether.db.pool import current_actor
from aether.errors import Forbidden, Unauthorized
from aether.gateway.announce import PageCache, SessionCache
from aether.queue.tasks import Hooks
from aether.security.sessions import Session, authenticate, csrf_token, tokens_match

SESSION_COOKIE = "aether_session"
ANON_CSRF_COOKIE = "aether_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuditScope:
    """ASGI middleware: the audit actor a request's dependencies set (`user:<id>`) ends with the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = current_actor.set(None)
        try:
            await self.app(scope, receive, send)
        finally:
            current_actor.reset(token)


class ForgetPagesOnWrite:
    """ASGI middleware: a write through this process (any unsafe method) drops every rendered page before
    its response starts, so its client reads its own write here at once, whatever it changed; the other
    processes learn of it from the announcement."""

    def __init__(self, app: ASGIApp, pages: PageCache) -> None:
        self.app = app
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return

        async def forgetting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.pages.forget_all()
            await send(message)

        await self.app(scope, receive, forgetting_send)


def forget_session(request: Request, session_id: str | None = None) -> None:
    cache: SessionCache = request.app.state.session_cache
    cache.forget(session_id)


# The dependencies are coroutines: FastAPI runs a plain `def` dependency in a worker thread, a hop that
# costs more than the work itself.
async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_hooks(request: Request) -> Hooks:
    hooks: Hooks = request.app.state.hooks
    return hooks


DB = Annotated[Database, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]
QueueHooks = Annotated[Hooks, Depends(get_hooks)]


@asynccontextmanager
async def reading(db: Database) -> AsyncIterator[AsyncConnection]:
    """A pooled connection in autocommit mode for reads: no BEGIN/COMMIT round trips."""
    async with db.connection() as conn:
        await conn.set_autocommit(True)
        try:
            yield conn
        finally:
            await conn.set_autocommit(False)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("the Authorization header must be `Bearer <token>`", field="Authorization")
    return value.strip()


async def submitted_csrf(request: Request) -> str | None:
    given = request.headers.get(CSRF_HEADER)
    if given:
        return given
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def optional_session(request: Request, db: DB, settings: AppSettings) -> Session | None:
    """The caller's session, or None for an anonymous request (cached on the request)."""
    if hasattr(request.state, "session"):
        cached: Session | None = request.state.session
        return cached
    token = bearer_token(request)
    via = "bearer"
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        via = "cookie"
    session: Session | None = None
    if token:
        cache: SessionCache = request.app.state.session_cache
        session = cache.get(token)
        if session is None:
            generation = cache.generation
            async with reading(db) as conn:
                session = await authenticate(conn, token, ttl_s=settings.session_ttl_hours * 3600)
            if session is not None:
                cache.put(session, generation)
        if session is None and via == "bearer":
            raise Unauthorized("the bearer token is unknown, expired or revoked", field="Authorization")
    if (
        session is not None
        and via == "cookie"
        and request.method not in SAFE_METHODS
        and not tokens_match(csrf_token(session.token), await submitted_csrf(request))
    ):
        raise Forbidden(
            "missing or wrong CSRF token (send the X-CSRF-Token header or the csrf_token form field)",
            field=CSRF_FIELD,
        )
    request.state.session = session
    request.state.auth_via = via if session else None
    if session is not None:  # every transaction of this request is audited as this user (AuditScope resets it)
        current_actor.set(f"user:{session.user_id}")
    return session


async def current_user(session: Annotated[Session | None, Depends(optional_session)]) -> Session:
    """The authenticated user's session; 401 when there is none."""
    if session is None:
        raise Unauthorized("log in first: send a bearer token or the session cookie")
    return session


async def require_admin(session: Annotated[Session, Depends(current_user)]) -> Session:
    """The authenticated user's session, who must be an admin; 403 otherwise."""
    if not session.is_admin:
        raise Forbidden("this needs the admin role")
    return session


async def caller_id(request: Request) -> str:
    """`user:<id>` of the authenticated caller (401 for an anonymous one): what idempotency keys are
    scoped to (aether.idempotency.HttpPolicy.caller)."""
    session = await optional_session(request, request.app.state.db, request.app.state.settings)
    return f"user:{(await current_user(session)).user_id}"


OptionalUser = Annotated[Session | None, Depends(optional_session)]
CurrentUser = Annotated[Session, Depends(current_user)]
AdminUser = Annotated[Session, Depends(require_admin)]


def client_ip(request: Request) -> str | None:
    """The client's address: the peer's, unless the peer is a proxy in AETHER_TRUSTED_PROXIES, then the
    nearest address in X-Forwarded-For that is not a trusted proxy (read from the right: only the entries
    trusted proxies appended can be believed). None when the peer is not an IP address (an in-process
    test client)."""
    if request.client is None:
        return None
    try:
        peer = ipaddress.ip_address(request.client.host)
    except ValueError:
        return None
    settings: Settings = request.app.state.settings
    trusted = settings.trusted_proxy_networks
    if not trusted or not any(peer in network for network in trusted):
        return str(peer)
    forwarded = [part.strip() for header in request.headers.getlist("x-forwarded-for") for part in header.split(",")]
    client = peer
    for entry in reversed(forwarded):
        try:
            client = ipaddress.ip_address(entry)
        except ValueError:
            break  # garbage (or an obfuscated name): the last address read is the nearest one known
        if not any(client in network for network in trusted):
            break
    return str(client)


def is_https(request: Request, settings: Settings) -> bool:
    if request.url.scheme == "https":
        return True
    return bool(settings.public_url and settings.public_url.startswith("https://"))


def base_url(request: Request, settings: Settings) -> str:
    """Where links in feeds and mails point: AETHER_PUBLIC_URL, else the request's own origin."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")
