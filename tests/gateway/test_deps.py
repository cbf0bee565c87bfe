"""The gateway's dependencies and middlewares, driven through a small FastAPI app on the test database:
bearer and cookie authentication, CSRF on unsafe methods with the cookie, 401 and 403, the admin check,
the client's address, the base URL, the audit actor's scope, and rendered pages forgotten on a write."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from aether.config import Settings
from aether.db.pool import Database, current_actor
from aether.gateway.announce import PageCache, SessionCache
from aether.gateway.deps import (
    DB,
    SESSION_COOKIE,
    AdminUser,
    AppSettings,
    AuditScope,
    CurrentUser,
    ForgetPagesOnWrite,
    OptionalUser,
    base_url,
    client_ip,
    forget_session,
    is_https,
)
from aether.gateway.errors import install_error_handlers
from aether.queue.tasks import NO_HOOKS
from aether.security import accounts
from aether.security.sessions import create_session, csrf_token, revoke_session

PAGE_KEY = ("user", 1, "page=1")
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


@dataclass
class Account:
    user_id: int
    token: str
    session_id: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def cookie(self) -> dict[str, str]:
        return cookie(self.token)


def cookie(token: str) -> dict[str, str]:
    """The session cookie as the browser sends it (a header: httpx's per-request cookies are deprecated)."""
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


@dataclass
class Seen:
    """What the write route saw of the page cache: in its handler, and once its response had started."""

    in_handler: list[bytes | None] = field(default_factory=list)
    while_streaming: list[bytes | None] = field(default_factory=list)


@pytest.fixture
async def adb(settings: Settings) -> AsyncIterator[Database]:
    assert settings.database_url is not None
    async with Database(settings, settings.database_url.get_secret_value()) as db:
        yield db


async def account(db: Database, email: str, role: str) -> Account:
    async with db.transaction() as conn:
        user = await accounts.register(conn, email, "correct horse 1", role=role)
        token, session = await create_session(conn, user["id"], ttl_s=3600, user_agent="pytest", ip=None)
    return Account(user["id"], token, str(session["session_id"]))


@pytest.fixture
async def admin(adb: Database) -> Account:
    return await account(adb, "admin@example.org", "admin")


@pytest.fixture
async def user(adb: Database) -> Account:
    return await account(adb, "user@example.org", "user")


def small_app(
    settings: Settings,
    db: Database,
    *,
    audit: bool = True,
    sessions: SessionCache | None = None,
    pages: PageCache | None = None,
    seen: Seen | None = None,
) -> FastAPI:
    """Routes that use each dependency, with the gateway's error handlers and its two middlewares."""
    app = FastAPI()
    install_error_handlers(app)
    app.state.settings = settings
    app.state.db = db
    app.state.hooks = NO_HOOKS
    app.state.session_cache = sessions or SessionCache(0.0)  # nothing cached: every request asks the database
    app.state.page_cache = pages = pages or PageCache(60.0)
    seen = seen or Seen()

    async def actor_in_a_transaction(db: Database) -> str | None:
        async with db.transaction() as conn:
            cur = await conn.execute("SELECT current_setting('aether.actor', true) AS actor")
            row = await cur.fetchone()
        return (row["actor"] if row else None) or None

    @app.get("/anyone")
    async def anyone(request: Request, session: OptionalUser, db: DB) -> dict[str, Any]:
        return {
            "user_id": session.user_id if session else None,
            "via": request.state.auth_via,
            "actor": await actor_in_a_transaction(db),
        }

    @app.api_route("/me", methods=ALL_METHODS)
    async def me(request: Request, session: CurrentUser, db: DB) -> dict[str, Any]:
        return {"user_id": session.user_id, "via": request.state.auth_via, "actor": await actor_in_a_transaction(db)}

    @app.get("/admin")
    async def admin_only(session: AdminUser) -> dict[str, Any]:
        return {"admin": session.user_id}

    @app.post("/logout")
    async def logout(request: Request, session: CurrentUser, db: DB) -> dict[str, Any]:
        async with db.transaction() as conn:
            await revoke_session(conn, session.user_id, session.session_id)
        forget_session(request, session.session_id)
        return {}

    @app.get("/where")
    async def where(request: Request, settings: AppSettings) -> dict[str, Any]:
        return {"ip": client_ip(request), "base": base_url(request, settings), "https": is_https(request, settings)}

    @app.post("/write")
    async def write() -> StreamingResponse:
        seen.in_handler.append(pages.get(PAGE_KEY))

        async def body() -> AsyncIterator[bytes]:
            seen.while_streaming.append(pages.get(PAGE_KEY))
            yield b"written"

        return StreamingResponse(body())

    if audit:
        app.add_middleware(AuditScope)
    app.add_middleware(ForgetPagesOnWrite, pages=pages)
    return app


def client(app: FastAPI, *, peer: tuple[str, int] | None = ("127.0.0.1", 50000), **options: Any) -> httpx.AsyncClient:
    base = options.pop("base_url", "http://testserver")
    root_path = options.pop("root_path", "")
    transport = httpx.ASGITransport(app, client=peer, root_path=root_path)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url=base, **options)


@pytest.fixture
async def api(settings: Settings, adb: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with client(small_app(settings, adb)) as c:
        yield c


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


@pytest.fixture
def no_actor() -> Iterator[None]:
    """Whatever a test's requests leave in `current_actor` ends with the test."""
    token = current_actor.set(None)
    yield
    current_actor.reset(token)


# ---- bearer and cookie ------------------------------------------------------------------------------


async def test_a_bearer_token_or_the_cookie_authenticates(api: httpx.AsyncClient, user: Account) -> None:
    r = await api.get("/me", headers=user.bearer)
    assert r.status_code == 200 and r.json()["user_id"] == user.user_id and r.json()["via"] == "bearer"
    r = await api.get("/me", headers=user.cookie)
    assert r.status_code == 200 and r.json()["user_id"] == user.user_id and r.json()["via"] == "cookie"


async def test_anonymous_requests(api: httpx.AsyncClient) -> None:
    r = await api.get("/anyone")
    assert r.status_code == 200 and r.json() == {"user_id": None, "via": None, "actor": None}
    r = await api.get("/me")
    assert r.status_code == 401
    assert error(r) == {
        "code": "unauthorized",
        "message": "log in first: send a bearer token or the session cookie",
        "field": None,
    }


@pytest.mark.parametrize("header", ["Basic dXNlcjpwdw==", "Bearer", "Bearer    ", "Token abc", "bearer"])
async def test_a_malformed_authorization_header_is_401_even_where_login_is_optional(
    api: httpx.AsyncClient, header: str
) -> None:
    for path in ("/anyone", "/me"):
        r = await api.get(path, headers={"Authorization": header})
        assert r.status_code == 401 and error(r)["field"] == "Authorization"
        assert error(r)["message"] == "the Authorization header must be `Bearer <token>`"


async def test_the_scheme_is_case_insensitive(api: httpx.AsyncClient, user: Account) -> None:
    r = await api.get("/me", headers={"Authorization": f"bEaReR {user.token}  "})
    assert r.status_code == 200 and r.json()["user_id"] == user.user_id


async def test_an_unknown_or_revoked_bearer_token_is_401_but_a_stale_cookie_is_anonymous(
    api: httpx.AsyncClient, adb: Database, user: Account
) -> None:
    for token in ("not-a-token", "x" * 500):
        r = await api.get("/anyone", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and error(r)["field"] == "Authorization"
        assert error(r)["message"] == "the bearer token is unknown, expired or revoked"
        r = await api.get("/anyone", headers=cookie(token))
        assert r.status_code == 200 and r.json()["user_id"] is None
        assert (await api.get("/me", headers=cookie(token))).status_code == 401
    async with adb.transaction() as conn:
        assert await revoke_session(conn, user.user_id, user.session_id)
    assert (await api.get("/me", headers=user.bearer)).status_code == 401
    assert (await api.get("/anyone", headers=user.cookie)).json()["user_id"] is None


async def test_the_bearer_token_wins_over_the_cookie(api: httpx.AsyncClient, user: Account, admin: Account) -> None:
    r = await api.get("/me", headers={**user.bearer, **admin.cookie})
    assert r.json()["user_id"] == user.user_id and r.json()["via"] == "bearer"
    r = await api.get("/me", headers={"Authorization": "Bearer wrong", **admin.cookie})
    assert r.status_code == 401  # a bad token is not quietly replaced by the cookie


async def test_a_session_forgotten_on_logout_is_not_served_from_the_cache(
    settings: Settings, adb: Database, user: Account
) -> None:
    sessions = SessionCache(60.0, trust_ttl=True)  # trusted for a minute: only a forget ends it early
    async with client(small_app(settings, adb, sessions=sessions)) as api:
        assert (await api.get("/me", headers=user.bearer)).status_code == 200
        assert sessions.get(user.token) is not None
        assert (await api.post("/logout", headers=user.bearer)).status_code == 200
        assert sessions.get(user.token) is None
        assert (await api.get("/me", headers=user.bearer)).status_code == 401


# ---- CSRF ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ALL_METHODS)
async def test_unsafe_methods_with_the_cookie_need_the_csrf_token(
    api: httpx.AsyncClient, user: Account, admin: Account, method: str
) -> None:
    safe = method in ("GET", "HEAD", "OPTIONS")
    r = await api.request(method, "/me", headers=user.cookie)
    assert r.status_code == (200 if safe else 403)
    if safe:
        return
    assert error(r) == {
        "code": "forbidden",
        "message": "missing or wrong CSRF token (send the X-CSRF-Token header or the csrf_token form field)",
        "field": "csrf_token",
    }
    for wrong in ("wrong", csrf_token(admin.token), csrf_token(user.token).upper()):
        r = await api.request(method, "/me", headers={**user.cookie, "X-CSRF-Token": wrong})
        assert r.status_code == 403, wrong
    r = await api.request(method, "/me", headers={**user.cookie, "X-CSRF-Token": csrf_token(user.token)})
    assert r.status_code == 200 and r.json()["user_id"] == user.user_id
    r = await api.request(method, "/me", headers=user.bearer)  # an API client sends no cookie, needs no token
    assert r.status_code == 200


async def test_the_csrf_token_may_come_in_a_form_field(api: httpx.AsyncClient, user: Account) -> None:
    token = csrf_token(user.token)
    r = await api.post("/me", headers=user.cookie, data={"csrf_token": token, "other": "x"})
    assert r.status_code == 200
    r = await api.post("/me", headers=user.cookie, data={"csrf_token": token}, files={"f": ("a.txt", b"hello")})
    assert r.status_code == 200  # multipart
    r = await api.post("/me", headers=user.cookie, data={"csrf_token": "forged"})
    assert r.status_code == 403
    r = await api.post("/me", headers=user.cookie, json={"csrf_token": token})
    assert r.status_code == 403  # a JSON body is not a form


# ---- admin ----------------------------------------------------------------------------------------------


async def test_the_admin_check(api: httpx.AsyncClient, user: Account, admin: Account) -> None:
    r = await api.get("/admin", headers=admin.bearer)
    assert r.status_code == 200 and r.json() == {"admin": admin.user_id}
    r = await api.get("/admin", headers=user.bearer)
    assert r.status_code == 403
    assert error(r) == {"code": "forbidden", "message": "this needs the admin role", "field": None}
    r = await api.get("/admin")
    assert r.status_code == 401 and error(r)["code"] == "unauthorized"


# ---- the audit actor ----------------------------------------------------------------------------------


async def test_a_requests_transactions_are_audited_as_its_user_and_the_actor_ends_with_it(
    settings: Settings, adb: Database, user: Account, no_actor: None
) -> None:
    async with client(small_app(settings, adb)) as api:
        r = await api.post("/me", headers=user.bearer)
        assert r.json()["actor"] == f"user:{user.user_id}"
        assert current_actor.get() is None  # reset when the request ended
        assert (await api.get("/anyone")).json()["actor"] is None  # the next, anonymous request is nobody
    async with adb.transaction() as conn:  # and so is work outside any request
        cur = await conn.execute("SELECT current_setting('aether.actor', true) AS actor")
        row = await cur.fetchone()
        assert row is not None and not row["actor"]

    # without AuditScope the actor would outlive the request in the context that served it
    async with client(small_app(settings, adb, audit=False)) as bare:
        await bare.post("/me", headers=user.bearer)
        assert current_actor.get() == f"user:{user.user_id}"
        assert (await bare.get("/anyone")).json()["actor"] == f"user:{user.user_id}"


# ---- client address and base URL ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "ip"),
    [
        (("203.0.113.9", 4711), "203.0.113.9"),
        (("::1", 4711), "::1"),
        (("2001:DB8::1", 4711), "2001:db8::1"),
        (("testclient", 50000), None),
        (None, None),
    ],
)
async def test_client_ip(settings: Settings, adb: Database, peer: tuple[str, int] | None, ip: str | None) -> None:
    async with client(small_app(settings, adb), peer=peer) as api:
        assert (await api.get("/where")).json()["ip"] == ip


@pytest.mark.parametrize(
    ("public_url", "request_base", "root_path", "base", "https"),
    [
        (None, "http://testserver", "", "http://testserver", False),
        (None, "http://gateway.local:8000", "/aether", "http://gateway.local:8000/aether", False),
        (None, "https://pods.example", "", "https://pods.example", True),
        ("https://pods.example.org/", "http://127.0.0.1:8000", "", "https://pods.example.org", True),
        (
            "https://pods.example.org/podcasts",
            "http://testserver",
            "/ignored",
            "https://pods.example.org/podcasts",
            True,
        ),
        ("http://intranet.example", "http://testserver", "", "http://intranet.example", False),
    ],
)
async def test_base_url_with_and_without_a_public_url(
    settings: Settings,
    adb: Database,
    public_url: str | None,
    request_base: str,
    root_path: str,
    base: str,
    https: bool,
) -> None:
    configured = settings.model_copy(update={"public_url": public_url})
    async with client(small_app(configured, adb), base_url=request_base, root_path=root_path) as api:
        assert (await api.get("/where")).json() | {"ip": None} == {"ip": None, "base": base, "https": https}


# ---- pages forgotten on a write --------------------------------------------------------------------------


def cached_page() -> tuple[PageCache, tuple[int, int]]:
    pages = PageCache(60.0)
    pages.set_listening(True)
    generation = pages.generation(1)
    pages.put(PAGE_KEY, 1, generation, b"rendered page")
    assert pages.get(PAGE_KEY) == b"rendered page"
    return pages, generation


async def test_reads_keep_the_rendered_pages(settings: Settings, adb: Database, user: Account) -> None:
    pages, _ = cached_page()
    async with client(small_app(settings, adb, pages=pages)) as api:
        for method in ("GET", "HEAD", "OPTIONS"):
            assert (await api.request(method, "/me", headers=user.bearer)).status_code == 200
        assert (await api.get("/anyone")).status_code == 200
    assert pages.get(PAGE_KEY) == b"rendered page"


async def test_a_write_forgets_every_page_before_its_response_starts(settings: Settings, adb: Database) -> None:
    pages, generation = cached_page()
    seen = Seen()
    async with client(small_app(settings, adb, pages=pages, seen=seen)) as api:
        r = await api.post("/write")
    assert r.status_code == 200 and r.content == b"written"
    assert seen.in_handler == [b"rendered page"]  # the handler still had it ...
    assert seen.while_streaming == [None]  # ... the response's first byte did not
    assert pages.get(PAGE_KEY) is None
    pages.put(PAGE_KEY, 1, generation, b"built before the write")
    assert pages.get(PAGE_KEY) is None  # a page built from what the write changed is not kept either


async def test_a_refused_write_forgets_the_pages_too(settings: Settings, adb: Database, user: Account) -> None:
    pages, _ = cached_page()
    async with client(small_app(settings, adb, pages=pages)) as api:
        assert (await api.post("/me", headers=user.cookie)).status_code == 403
    assert pages.get(PAGE_KEY) is None


async def test_other_kinds_of_connection_pass_through_untouched() -> None:
    pages, _ = cached_page()
    calls: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope["type"])
        await send({"type": "lifespan.startup.complete"})

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    await ForgetPagesOnWrite(inner, pages)({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    await AuditScope(inner)({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert calls == ["lifespan", "lifespan"] and sent == [{"type": "lifespan.startup.complete"}] * 2
    assert pages.get(PAGE_KEY) == b"rendered page"
