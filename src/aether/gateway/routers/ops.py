"""Operations over HTTP: `/healthz` (the process answers), `/readyz` (database reachable and schema
current; 503 with Retry-After otherwise) and `/metrics` (Prometheus text exposition). The figures and
checks themselves live in `aether.ops`.

On the gateway's port `/metrics` answers only `Authorization: Bearer <AETHER_METRICS_TOKEN>` or an admin's
session; with no token set it is 404 to everyone else. `metrics_router` serves it without a check, for the
loopback-only port of AETHER_METRICS_PORT (aether.gateway.app.create_metrics_app)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from aether import __version__
from aether.config import Settings
from aether.db import Database
from aether.errors import Forbidden, NotFound, Unauthorized
from aether.gateway.deps import optional_session
from aether.ops.health import RETRY_AFTER_S, readiness
from aether.ops.metrics import Snapshot, gather_async, render, short_error
from aether.security.sessions import tokens_match

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    report = await readiness(getattr(request.app.state, "db", None))
    if report["ready"]:
        return JSONResponse(report)
    database = report["checks"].get("database")
    if isinstance(database, str) and database.startswith("unreachable"):  # no address, user or name to anyone
        log.warning("not ready: database %s", database)
        report["checks"]["database"] = "unreachable"
    return JSONResponse(report, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


metrics_router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition of the whole installation's figures (token or admin only)."""
    settings: Settings = request.app.state.settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if token and scheme.lower() == "bearer" and tokens_match(token, given.strip()):
        return await metrics_response(request)
    try:
        session = await optional_session(request, request.app.state.db, settings)
    except Unauthorized:
        session = None
    if session is not None and session.is_admin:
        return await metrics_response(request)
    if not token:
        raise NotFound("not found")
    if session is not None:
        raise Forbidden("/metrics needs the metrics token or an admin's session")
    raise Unauthorized("send Authorization: Bearer <AETHER_METRICS_TOKEN>", field="Authorization")


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics_open(request: Request) -> Response:
    """/metrics on the loopback-only metrics port: no check."""
    return await metrics_response(request)


async def metrics_response(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    db: Database | None = getattr(request.app.state, "db", None)
    dbs = [db] if db is not None else []
    snapshot: Snapshot
    if db is None:
        snapshot = await gather_async(None, settings, dbs)
    else:
        try:
            async with db.connection() as conn:
                snapshot = await gather_async(conn, settings, dbs)
        except Exception as exc:  # the database is down: still report what this process knows
            snapshot = await gather_async(None, settings, dbs)
            snapshot.errors["database"] = short_error(exc)
    return Response(content=render(snapshot), media_type=CONTENT_TYPE_LATEST)
