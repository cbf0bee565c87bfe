"""Operations over HTTP: `/healthz` (the process answers), `/readyz` (database reachable and schema
current; 503 with Retry-After otherwise) and `/metrics` (Prometheus text exposition). The figures and
checks themselves live in `aether.ops`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from aether import __version__
from aether.config import Settings
from aether.db import Database
from aether.ops.health import RETRY_AFTER_S, readiness
from aether.ops.metrics import Snapshot, gather_async, render, short_error

router = APIRouter(tags=["operations"])


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    report = await readiness(getattr(request.app.state, "db", None))
    if report["ready"]:
        return JSONResponse(report)
    return JSONResponse(report, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition of the whole installation's figures."""
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
