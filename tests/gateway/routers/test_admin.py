"""The admin API over real HTTP (uvicorn on 127.0.0.1): agents, credentials, audit; the authorization
matrix (anonymous 401, user 403, admin 200) and that no plaintext secret ever comes back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from aether.config import Settings
from tests.gateway.conftest import Gateway, register, start_gateway

SECRET = "sk-api-0123456789-secret-wxyz"


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    gw, thread = start_gateway(settings)
    yield gw
    gw.server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    with gateway.client() as c:
        yield c


@pytest.fixture
def admin(client: httpx.Client) -> dict[str, Any]:
    auth = register(client)  # the first user of an empty installation is admin
    assert auth["user"]["role"] == "admin", auth["user"]
    return auth


@pytest.fixture
def user(client: httpx.Client, admin: dict[str, Any]) -> dict[str, Any]:
    auth = register(client)
    assert auth["user"]["role"] == "user"
    return auth


ADMIN_ENDPOINTS = [
    ("GET", "/v1/agents", None),
    ("GET", "/v1/agent-types", None),
    ("POST", "/v1/agents", {"name": "x", "type": "tda"}),
    ("GET", "/v1/agents/tda", None),
    ("PATCH", "/v1/agents/tda", {"status": "active"}),
    ("POST", "/v1/agents/tda/enable", None),
    ("POST", "/v1/agents/tda/disable", None),
    ("DELETE", "/v1/agents/tda", None),
    ("GET", "/v1/credentials", None),
    ("POST", "/v1/credentials", {"platform": "openai", "key": "api_key", "value": SECRET}),
    ("GET", "/v1/credentials/1", None),
    ("DELETE", "/v1/credentials/1", None),
    ("GET", "/v1/credentials/keys", None),
    ("POST", "/v1/credentials/rotate-key", None),
    ("GET", "/v1/audit", None),
    ("GET", "/v1/audit/1", None),
]


@pytest.mark.slow
def test_admin_endpoints_refuse_anonymous_callers_and_users(
    client: httpx.Client, admin: dict[str, Any], user: dict[str, Any]
) -> None:
    for method, path, body in ADMIN_ENDPOINTS:
        anonymous = client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        as_user = client.request(method, path, json=body, headers=user["headers"])
        assert as_user.status_code == 403, (method, path, as_user.text)
        assert as_user.json()["error"]["code"] == "forbidden"
    # nothing was changed by any of those calls
    r = client.get("/v1/agents", headers=admin["headers"])
    assert r.status_code == 200 and r.json()["items"] == []
    assert client.get("/v1/credentials", headers=admin["headers"]).json()["items"] == []


@pytest.mark.slow
def test_admin_manages_agents_credentials_and_reads_the_audit(client: httpx.Client, admin: dict[str, Any]) -> None:
    h = admin["headers"]
    r = client.post(
        "/v1/agents", json={"name": "yt", "type": "youtube", "config": {"privacy_status": "nope"}}, headers=h
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "config.privacy_status"
    r = client.post(
        "/v1/agents", json={"name": "yt", "type": "youtube", "config": {"privacy_status": "public"}}, headers=h
    )
    assert r.status_code == 201, r.text
    assert client.post("/v1/agents", json={"name": "yt", "type": "youtube"}, headers=h).status_code == 409
    r = client.get("/v1/agents/yt", headers=h)
    assert r.json()["agent"]["effective_config"]["category_id"] == "22"
    r = client.patch("/v1/agents/yt", json={"status": "error"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "reason"
    r = client.patch("/v1/agents/yt", json={"status": "error", "reason": "quota exceeded"}, headers=h)
    assert r.json()["agent"]["status_reason"] == "quota exceeded"
    assert client.post("/v1/agents/yt/disable", headers=h).json()["agent"]["status"] == "inactive"
    r = client.post("/v1/agents/yt/disable", json={"reason": "paused for the holidays"}, headers=h)
    assert r.json()["agent"]["status_reason"] == "paused for the holidays"
    assert client.post("/v1/agents/yt/enable", headers=h).json()["agent"]["status"] == "active"
    assert client.get("/v1/agents/nobody", headers=h).status_code == 404
    assert "youtube" in client.get("/v1/agent-types", headers=h).json()["types"]

    body = {"agent": "yt", "platform": "youtube", "key": "refresh_token", "value": SECRET}
    r = client.post("/v1/credentials", json=body, headers=h)
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]
    assert cred["value"] == "sk-...wxyz" and SECRET not in r.text
    assert client.post("/v1/credentials", json=body, headers=h).status_code == 409
    r = client.post("/v1/credentials", json={**body, "value": "", "key": "other"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "value"
    listed = client.get("/v1/credentials", headers=h)
    assert [c["value"] for c in listed.json()["items"]] == ["sk-...wxyz"] and SECRET not in listed.text
    assert client.get(f"/v1/credentials/{cred['id']}", headers=h).json()["credential"]["value"] == "sk-...wxyz"
    r = client.post("/v1/credentials/rotate-key", headers=h)
    assert r.status_code == 200 and r.json()["resealed"] == 1 and len(r.json()["retired"]) == 1
    ring = client.get("/v1/credentials/keys", headers=h).json()["data_keys"]
    assert [k["status"] for k in ring] == ["retired", "active"] and ring[1]["credentials"] == 1
    assert client.delete(f"/v1/credentials/{cred['id']}", headers=h).status_code == 204
    assert client.get(f"/v1/credentials/{cred['id']}", headers=h).status_code == 404
    r = client.delete("/v1/agents/yt", headers=h)
    assert r.status_code == 204

    admin_actor = f"user:{admin['user']['id']}"
    r = client.get("/v1/audit", params={"table": "agents", "actor": admin_actor}, headers=h)
    actions = [e["action"] for e in r.json()["items"]]
    assert actions == ["delete", "update", "update", "update", "update", "insert"]
    assert all(e["client_addr"] == "127.0.0.1" for e in r.json()["items"])
    r = client.get("/v1/audit", params={"table": "credentials", "limit": 2}, headers=h)
    page = r.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get("/v1/audit", params={"table": "credentials", "cursor": page["next_cursor"]}, headers=h).json()
    assert [e["action"] for e in page["items"] + rest["items"]] == ["delete", "update", "insert"]
    assert SECRET not in r.text
    entry_id = page["items"][0]["id"]
    assert client.get(f"/v1/audit/{entry_id}", headers=h).json()["entry"]["table"] == "credentials"
    r = client.get("/v1/audit", params={"since": "yesterday"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "since"


@pytest.mark.slow
def test_admin_pages_show_agents_and_the_filtered_audit_log(
    client: httpx.Client, admin: dict[str, Any], user: dict[str, Any]
) -> None:
    h = admin["headers"]
    assert client.post("/v1/agents", json={"name": "bot", "type": "telegram"}, headers=h).status_code == 201
    r = client.post(
        "/v1/credentials", json={"agent": "bot", "platform": "telegram", "key": "bot_token", "value": SECRET}, headers=h
    )
    assert r.status_code == 201
    broken = {"status": "error", "reason": "401: token revoked"}
    assert client.patch("/v1/agents/bot", json=broken, headers=h).is_success

    page = client.get("/admin/agents", headers=h)
    assert page.status_code == 200 and "401: token revoked" in page.text and "sk-...wxyz" in page.text
    assert SECRET not in page.text
    r = client.post("/admin/agents/bot/enable", headers=h)
    assert r.status_code == 303
    assert client.get("/v1/agents/bot", headers=h).json()["agent"]["status"] == "active"

    page = client.get("/admin/audit", params={"table": "agents", "action": "update"}, headers=h)
    assert page.status_code == 200 and page.text.count("<tr><td>") == 2 and "credentials" in page.text
    page = client.get("/admin/audit", params={"since": "someday"}, headers=h)
    assert page.status_code == 200 and "since must be" in page.text

    assert client.get("/admin/audit", headers=user["headers"]).status_code == 403
    assert client.post("/admin/agents/bot/disable", headers=user["headers"]).status_code == 403
    anonymous = client.get("/admin/audit")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
