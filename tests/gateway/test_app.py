"""The app as a whole: one error shape, unknown fields, body size limit, OpenAPI."""

from __future__ import annotations

import httpx

from aether.db.pool import Database
from tests.gateway.conftest import Gateway, register


def _error(r: httpx.Response) -> dict[str, str | None]:
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    error: dict[str, str | None] = body["error"]
    return error


def test_openapi_and_docs(client: httpx.Client) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/v1/users", "/v1/sessions", "/v1/shows", "/v1/shows/{show_id}/episodes", "/v1/episodes/{episode_id}"):
        assert path in paths, path
    assert client.get("/docs").status_code == 200


async def test_validation_error_names_the_field(client: httpx.Client, db: Database) -> None:
    r = client.post("/v1/users", json={"email": "not-an-email", "password": "long enough pw"})
    assert r.status_code == 422
    err = _error(r)
    assert err["code"] == "invalid" and err["field"] == "email"
    assert "email" in (err["message"] or "")
    assert (await db.fetch_one("SELECT count(*) AS n FROM users"))["n"] == 0  # type: ignore[index]


async def test_unknown_fields_are_rejected_and_nothing_is_written(client: httpx.Client, db: Database) -> None:
    r = client.post("/v1/users", json={"email": "a@example.org", "password": "long enough pw", "is_admin": True})
    assert r.status_code == 422
    err = _error(r)
    assert err["field"] == "is_admin" and "unknown field" in (err["message"] or "")
    assert (await db.fetch_one("SELECT count(*) AS n FROM users"))["n"] == 0  # type: ignore[index]


def test_malformed_json_is_400(client: httpx.Client) -> None:
    r = client.post("/v1/users", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert _error(r)["code"] == "bad_request"


async def test_body_over_the_limit_is_413_and_writes_nothing(
    client: httpx.Client, gateway: Gateway, db: Database
) -> None:
    auth = register(client)
    big = "x" * (gateway.settings.max_body_bytes + 10)
    r = client.post("/v1/shows", json={"title": "t", "description": big}, headers=auth["headers"])
    assert r.status_code == 413
    assert _error(r)["code"] == "payload_too_large"
    assert (await db.fetch_one("SELECT count(*) AS n FROM shows"))["n"] == 0  # type: ignore[index]


def test_chunked_body_over_the_limit_is_413(client: httpx.Client, gateway: Gateway) -> None:
    auth = register(client)
    limit = gateway.settings.max_body_bytes

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(limit // 4096 + 2):
            yield b"x" * 4096

    r = client.post("/v1/shows", content=chunks(), headers={**auth["headers"], "Content-Type": "application/json"})
    assert r.status_code == 413


def test_unknown_route_is_404_in_the_error_shape(client: httpx.Client) -> None:
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404
    assert _error(r)["code"] == "not_found"


def test_wrong_method_is_405(client: httpx.Client) -> None:
    r = client.put("/v1/users", json={})
    assert r.status_code == 405
    assert _error(r)["code"] == "method_not_allowed"


def test_web_pages_get_html_errors(client: httpx.Client) -> None:
    r = client.get("/shows/no-such-show", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "no show no-such-show" in r.text
