"""Login limits through the real API: per email and address, per address with a far higher bound, and
the client's address from X-Forwarded-For only when the peer is a trusted proxy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from aether.config import Settings
from aether.db.pool import Database
from tests.gateway.conftest import Gateway, register, start_gateway


def _gateway(settings: Settings, **update: object) -> Iterator[Gateway]:
    gw, thread = start_gateway(settings.model_copy(update=update))
    yield gw
    gw.server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def direct(settings: Settings) -> Iterator[Gateway]:
    yield from _gateway(settings, login_max_failures=5, login_max_failures_per_address=100, trusted_proxies="")


@pytest.fixture
def proxied(settings: Settings) -> Iterator[Gateway]:
    yield from _gateway(settings, login_max_failures=5, trusted_proxies="127.0.0.1, 10.0.0.0/8")


def test_failures_with_many_emails_do_not_lock_out_the_admin(direct: Gateway) -> None:
    with direct.client() as client:
        admin = register(client)
        assert admin["user"]["role"] == "admin"
        for _ in range(26):
            email = f"guess-{uuid.uuid4().hex[:10]}@example.org"
            r = client.post("/v1/sessions", json={"email": email, "password": "not the password"})
            assert r.status_code == 401, r.text
        r = client.post("/v1/sessions", json={"email": admin["email"], "password": admin["password"]})
        assert r.status_code == 201, r.text
        # the same email from the same address: locked after login_max_failures
        for _ in range(5):
            r = client.post("/v1/sessions", json={"email": admin["email"], "password": "not the password"})
            assert r.status_code == 401
        r = client.post("/v1/sessions", json={"email": admin["email"], "password": admin["password"]})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        # X-Forwarded-For from a peer that is no trusted proxy changes nothing
        spoofed = {"X-Forwarded-For": "198.51.100.20"}
        r = client.post("/v1/sessions", json={"email": admin["email"], "password": admin["password"]}, headers=spoofed)
        assert r.status_code == 429


def test_the_per_address_bound_holds_over_all_emails(settings: Settings) -> None:
    for gw in _gateway(settings, login_max_failures=5, login_max_failures_per_address=8):
        with gw.client() as client:
            admin = register(client)
            for _ in range(8):
                email = f"guess-{uuid.uuid4().hex[:10]}@example.org"
                assert client.post("/v1/sessions", json={"email": email, "password": "nope nope"}).status_code == 401
            r = client.post("/v1/sessions", json={"email": admin["email"], "password": admin["password"]})
            assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"


async def test_forwarded_for_is_believed_only_from_trusted_proxies(proxied: Gateway, db: Database) -> None:
    with proxied.client() as client:
        admin = register(client)
        attacker = {"X-Forwarded-For": "203.0.113.7"}
        for _ in range(5):
            r = client.post(
                "/v1/sessions", json={"email": admin["email"], "password": "not the password"}, headers=attacker
            )
            assert r.status_code == 401
        r = client.post("/v1/sessions", json={"email": admin["email"], "password": admin["password"]}, headers=attacker)
        assert r.status_code == 429
        # another client behind the same proxy is not locked out
        other = {"X-Forwarded-For": "198.51.100.9"}
        r = client.post("/v1/sessions", json={"email": admin["email"], "password": admin["password"]}, headers=other)
        assert r.status_code == 201, r.text
        # the attacker cannot pose as another client: only the entries trusted proxies appended count
        spoofing = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7, 10.1.2.3"}
        r = client.post("/v1/sessions", json={"email": admin["email"], "password": admin["password"]}, headers=spoofing)
        assert r.status_code == 429
    rows = await db.fetch_all("SELECT DISTINCT host(ip_address) AS ip FROM login_attempts ORDER BY 1")
    assert [r["ip"] for r in rows] == ["127.0.0.1", "198.51.100.9", "203.0.113.7"]
