"""Control characters and lone surrogates: 422 naming the field, on anonymous and logged-in endpoints, in
the path, the query, JSON and form bodies; nothing written, no traceback logged."""

from __future__ import annotations

import logging

import httpx
import pytest

from aether.db.pool import Database
from tests.gateway.conftest import create_show, register


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert bad == [], [r.getMessage() for r in bad]


def _invalid(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid" and error["field"] == field, error
    assert "control characters" in error["message"]


async def test_nul_in_path_query_and_json_is_422_naming_the_field(
    client: httpx.Client, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    r = client.get("/shows/a%00b", headers={"Accept": "application/json"})
    _invalid(r, "slug")
    r = client.get("/shows/a%00b/feed.xml")  # no route: the path itself is named
    _invalid(r, "path")
    r = client.get("/v1/shows", params={"cursor": "a\x00b"})
    _invalid(r, "cursor")

    r = client.post("/v1/users", json={"email": "nul@example.org", "password": "pass\x00word-long-enough"})
    _invalid(r, "password")
    lone = '{"email": "nul@example.org", "password": "lone \\ud800 surrogate!"}'  # an escape in the JSON text
    r = client.post("/v1/users", content=lone, headers={"Content-Type": "application/json"})
    _invalid(r, "password")
    r = client.post("/v1/users", json={"email": "tab@example.org", "display_name": "a\x1fb", "password": "x" * 12})
    _invalid(r, "display_name")
    r = client.post("/v1/sessions", json={"email": "a\x00@example.org", "password": "whatever-it-is"})
    _invalid(r, "email")
    assert await db.fetch_one("SELECT 1 FROM users WHERE email LIKE '%%@example.org' AND email LIKE 'nul%%'") is None

    owner = register(client)
    show = create_show(client, owner)
    r = client.post(f"/v1/public/shows/{show['slug']}/subscribers", json={"email": "fan\x00@example.org"})
    _invalid(r, "email")
    r = client.patch(f"/v1/shows/{show['id']}", json={"hosts": [{"name": "Ann\x07"}]}, headers=owner["headers"])
    _invalid(r, "hosts[0].name")
    r = client.post(f"/v1/public/shows/{show['slug']}/subscribers", json={"email\x00": "x"})
    _invalid(r, "email\x00")
    # tab, line feed and carriage return stay allowed
    r = client.patch(f"/v1/shows/{show['id']}", json={"description": "one\ttwo\r\nthree"}, headers=owner["headers"])
    assert r.status_code == 200, r.text
    _no_errors_logged(caplog)


def test_nul_in_a_form_field_is_422_on_the_web(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    page = client.get("/login")
    assert page.status_code == 200
    r = client.post(
        "/login",
        data={"email": "someone@example.org", "password": "bad\x00password"},
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 422 and "control characters" in r.text
    r = client.post("/login", data={"email": "someone@example.org", "password": "bad\x00password"})
    _invalid(r, "password")
    _no_errors_logged(caplog)
