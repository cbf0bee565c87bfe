"""The FastAPI application: JSON API under /v1 (OpenAPI at /docs and /redoc, offline), public feeds, media, web pages.

`create_app(settings, hooks=...)` builds it (`create_metrics_app(settings)` the small app that serves only
/metrics on the loopback port of AETHER_METRICS_PORT); the database pool opens in the lifespan (or pass `db=` an
already open Database, which the app then does not close). `hooks` are the queue hooks that run when
the app cancels a task (aether.run.HOOKS). Its routers are named in `ROUTERS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from aether import __version__
from aether.config import Settings
from aether.db import Database, open_database
from aether.gateway import announce, openapi
from aether.gateway.deps import AuditScope, ForgetPagesOnWrite
from aether.gateway.errors import BodySizeLimit, install_error_handlers
from aether.gateway.feed import FeedCache, FeedFastPath
from aether.gateway.middleware.control_chars import RejectControlChars
from aether.gateway.middleware.security_headers import SecurityHeaders
from aether.gateway.pages import admin as admin_pages
from aether.gateway.pages import web
from aether.gateway.routers import accounts, admin, analytics, episodes, media, ops, shows, studio, subscribers
from aether.queue.tasks import Hooks

log = logging.getLogger(__name__)

HERE = Path(__file__).parent

ROUTERS: tuple[APIRouter, ...] = (
    accounts.router,
    shows.router,
    episodes.create_router,
    episodes.router,
    studio.router,
    subscribers.router,
    media.router,
    web.router,
    admin.router,
    admin_pages.router,
    ops.router,
    analytics.router,
)


def create_app(settings: Settings, *, hooks: Hooks, db: Database | None = None) -> FastAPI:
    """The whole gateway for `settings`; the pool opens on start-up unless `db` is given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = db is None
        database = db if db is not None else await open_database(settings, name="aether-gateway")
        app.state.db = database
        listener = None
        if settings.database_listen:
            sessions, pages = app.state.session_cache, app.state.page_cache

            def on_state(listening: bool) -> None:
                sessions.set_listening(listening)
                pages.set_listening(listening)

            channels = {announce.SESSIONS: sessions.announce, announce.EPISODES: pages.announce}
            listener = asyncio.create_task(
                announce.listen(settings, database.url, channels, on_state), name="gateway-listen"
            )
        try:
            yield
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            if own:
                await database.close()

    app = FastAPI(
        title="Aether",
        version=__version__,
        summary="Autonomous content agents: shows, episodes, feeds, subscribers.",
        docs_url=None,  # /docs and /redoc, with their assets served locally: aether.gateway.openapi
        redoc_url=None,
        openapi_url=openapi.OPENAPI_URL,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.hooks = hooks
    if db is not None:
        app.state.db = db
    install_error_handlers(app)
    openapi.install(app)

    app.state.feed_cache = FeedCache(settings.feed_cache_seconds)
    app.state.session_cache = announce.SessionCache(
        settings.session_cache_seconds, trust_ttl=not settings.database_listen
    )
    app.state.page_cache = announce.PageCache(settings.list_cache_seconds)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(FeedFastPath, gateway=app)
    app.add_middleware(RejectControlChars, routes=[route for router in ROUTERS for route in router.routes])
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(AuditScope)
    app.add_middleware(ForgetPagesOnWrite, pages=app.state.page_cache)
    app.add_middleware(SecurityHeaders)
    return app


def create_metrics_app(settings: Settings) -> FastAPI:
    """Only `/metrics`, unguarded: for 127.0.0.1:AETHER_METRICS_PORT (a pool of its own, opened on start)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        small = settings.model_copy(update={"pool_min_size": 1, "pool_max_size": 2})
        app.state.db = await open_database(small, name="aether-metrics")
        try:
            yield
        finally:
            await app.state.db.close()

    app = FastAPI(title="Aether metrics", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(ops.metrics_router)
    return app
