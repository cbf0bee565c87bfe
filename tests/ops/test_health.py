"""/healthz and /readyz through the real gateway; readiness fails while migrations are pending."""

from __future__ import annotations

import httpx
import psycopg

from aether.config import Settings
from aether.db import Database
from aether.ops.health import readiness


def test_healthz_and_readyz(gateway_url: str) -> None:
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"database": "ok", "migrations": "current"}}


def test_readyz_is_503_while_a_migration_is_pending(gateway_url: str, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE version = 8")
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        ready = client.get("/readyz")
        health = client.get("/healthz")
    assert ready.status_code == 503
    assert ready.headers["retry-after"] == "5"
    body = ready.json()
    assert body["ready"] is False
    assert body["checks"]["migrations"]["pending"] == ["0008_ops.sql"]
    assert health.status_code == 200  # alive, just not ready


async def test_readiness_reports_an_unreachable_database(settings: Settings) -> None:
    unreachable = Database(settings, "postgresql://nobody@127.0.0.1:1/nothing")  # never opened
    report = await readiness(unreachable)
    assert report["ready"] is False and report["checks"]["database"].startswith("unreachable")
    assert (await readiness(None))["ready"] is False
