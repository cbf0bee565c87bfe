"""The operations routes the gateway includes (aether.gateway.app OPTIONAL_ROUTERS): /metrics, /healthz,
/readyz."""

from __future__ import annotations

from fastapi import APIRouter

from aether.ops import health, metrics

router = APIRouter()
router.include_router(health.router)
router.include_router(metrics.router)
