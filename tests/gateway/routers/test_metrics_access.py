"""/metrics on the gateway's port: the metrics token or an admin's session, 404 with no token set; and the
loopback-only metrics port (AETHER_METRICS_PORT) as `aether api` starts it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from aether.config import Settings
from aether.run.serve import METRICS_HOST, start_metrics_server
from tests.gateway.conftest import Gateway, free_port, register, start_gateway
from tests.support import wait_for

TOKEN = "metrics-token-for-prometheus"


def _is_exposition(r: httpx.Response) -> bool:
    names = {family.name for family in text_string_to_metric_families(r.text)}
    return r.status_code == 200 and "aether_database_up" in names


@pytest.fixture
def guarded(settings: Settings) -> Iterator[Gateway]:
    gw, thread = start_gateway(settings.model_copy(update={"metrics_token": SecretStr(TOKEN)}))
    yield gw
    gw.server.should_exit = True
    thread.join(timeout=30)


def test_token_or_admin_session_opens_metrics(guarded: Gateway) -> None:
    with guarded.client() as client:
        admin, user = register(client), register(client)
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
        assert client.get("/metrics", headers=user["headers"]).status_code == 403
        assert _is_exposition(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}))
        assert _is_exposition(client.get("/metrics", headers=admin["headers"]))
        with httpx.Client(base_url=guarded.url, cookies={"aether_session": admin["token"]}) as browser:
            assert _is_exposition(browser.get("/metrics"))


def test_without_a_token_metrics_is_404_but_for_admins(client: httpx.Client) -> None:
    admin, user = register(client), register(client)
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers=user["headers"]).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404
    assert _is_exposition(client.get("/metrics", headers=admin["headers"]))


def test_the_metrics_port_serves_loopback_without_a_token(settings: Settings, gateway: Gateway) -> None:
    port = free_port()
    server = start_metrics_server(settings.model_copy(update={"metrics_port": port}))
    assert server is not None
    try:
        wait_for(lambda: server.started, timeout=30, what="the metrics server to start")
        assert server.config.host == METRICS_HOST == "127.0.0.1"
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30)
        assert _is_exposition(r)
        assert httpx.get(f"http://127.0.0.1:{port}/v1/me", timeout=30).status_code == 404  # nothing else there
        assert httpx.get(f"{gateway.url}/metrics", timeout=30).status_code == 404  # the public port stays shut
    finally:
        server.should_exit = True
    assert start_metrics_server(settings) is None  # unset: no server
