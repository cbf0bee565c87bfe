"""A database outage seen through the real gateway on a real PostgreSQL that is stopped: once the gateway
knows the server is down, each request gets 503 with Retry-After at once (never after the pool's 60 s
timeout here: the client gives up after 15 s), the body names no socket path, database user or database
name, and service resumes by itself when the server is back."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import SecretStr

from aether.config import Settings
from aether.db.embedded import EmbeddedServer
from tests.gateway.conftest import register, start_gateway
from tests.support import wait_for


def _secrets_of(url: str) -> list[str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    found = [parts.username or "", parts.path.lstrip("/"), parts.hostname or ""]
    found += query.get("host", []) + query.get("user", []) + query.get("dbname", [])
    return [item for item in found if item and item not in ("localhost", "127.0.0.1")]


def test_requests_fail_fast_and_say_nothing_about_the_server(embedded_home: Path, embedded_settings: Settings) -> None:
    server = EmbeddedServer(embedded_home)
    url = server.url()
    settings = embedded_settings.model_copy(
        update={
            "database_url": SecretStr(url),
            "pool_timeout": 60.0,
            "database_listen": False,
            "session_cache_seconds": 0.0,
        }
    )
    hidden = _secrets_of(url)
    assert hidden  # the socket directory, the user, the database
    gw, thread = start_gateway(settings)
    try:
        with httpx.Client(base_url=gw.url, timeout=15) as client:
            auth = register(client)
            server.stop(mode="fast")
            answers = []
            for _ in range(4):  # every one within the client's 15 s, though the pool would wait 60 s
                answers.append(client.post("/v1/sessions", json={"email": auth["email"], "password": "whatever!"}))
                answers.append(client.get("/v1/me", headers=auth["headers"]))
            answers.append(client.get("/", headers={"Accept": "text/html"}))
            for r in answers:
                assert r.status_code == 503, r.text
                assert r.headers["Retry-After"] == "5"
                assert not [item for item in hidden if item in r.text], r.text
            assert answers[0].json()["error"] == {
                "code": "database_unavailable",
                "message": "the database is unavailable; try again shortly",
                "field": None,
            }
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unreachable"
            assert not [item for item in hidden if item in ready.text]

            server.ensure_running()

            def served() -> bool:
                return client.get("/v1/me", headers=auth["headers"]).status_code == 200

            wait_for(served, timeout=60, what="the gateway to serve again")
            r = client.post("/v1/sessions", json={"email": auth["email"], "password": auth["password"]})
            assert r.status_code == 201
    finally:
        server.ensure_running()
        gw.server.should_exit = True
        thread.join(timeout=30)
