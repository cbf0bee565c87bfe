"""The OpenAPI document says what the gateway does (aether.gateway.openapi): error answers, security,
idempotency headers, the email rule; and a 405 names every method of its path in `Allow`."""

from __future__ import annotations

import re
from typing import Any

import httpx

from aether.podcasts.models import EMAIL_MAX
from tests.gateway.conftest import register


def test_the_document_lists_what_operations_answer(client: httpx.Client) -> None:
    doc: dict[str, Any] = client.get("/openapi.json").json()
    paths = doc["paths"]
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "session"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, item in paths.items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert "422" in statuses, (method, path)
            error = operation["responses"]["422"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            if method in ("post", "put", "patch", "delete"):
                assert "409" in statuses, (method, path)
    create_episode = paths["/v1/shows/{show_id}/episodes"]["post"]
    headers = {p["name"]: p for p in create_episode["parameters"] if p["in"] == "header"}
    assert {"Idempotency-Key", "X-Idempotency-Key", "X-Workflow-ID"} <= set(headers)
    assert {"400", "401", "403", "404", "409", "422"} <= set(create_episode["responses"])
    assert create_episode["security"] == [{"bearer": []}, {"session": []}]
    script = paths["/v1/episodes/{episode_id}/script"]["put"]["responses"]
    assert {"412", "428"} <= set(script)
    assert "403" in paths["/v1/credentials"]["get"]["responses"]  # admins only
    assert "429" in paths["/v1/sessions"]["post"]["responses"]
    assert "Retry-After" in paths["/v1/sessions"]["post"]["responses"]["429"]["headers"]

    register_body = paths["/v1/users"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    email = doc["components"]["schemas"][register_body["$ref"].rsplit("/", 1)[1]]["properties"]["email"]
    assert email["maxLength"] == EMAIL_MAX
    pattern = re.compile(email["pattern"])
    for accepted in ("a@example.org", "  padded@example.org "):
        assert pattern.match(accepted)
        r = client.post("/v1/public/shows/none/subscribers", json={"email": accepted})
        assert r.status_code == 404  # the email passed; the show does not exist
    for refused in ("no-at-sign", "a@nodot", "two@@example.org", "a b@example.org"):
        assert not pattern.match(refused)
        r = client.post("/v1/public/shows/none/subscribers", json={"email": refused})
        assert r.status_code == 422 and r.json()["error"]["field"] == "email", refused


def test_405_names_every_method_of_the_path(client: httpx.Client) -> None:
    auth = register(client)
    r = client.put("/v1/shows", headers=auth["headers"])
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    r = client.post("/v1/shows/1", headers=auth["headers"])
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET, PATCH"
    r = client.put("/v1/credentials/keys", headers=auth["headers"])
    assert r.status_code == 405 and r.headers["allow"] == "GET"  # not the methods of /v1/credentials/{id}
