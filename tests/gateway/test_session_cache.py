"""Checked sessions are cached per gateway process; a change made through one process (logout, new
preferences, a user's role) reaches every other process at once through `aether_sessions`."""

from __future__ import annotations

from datetime import datetime

from aether.db.pool import Database
from aether.gateway.announce import SessionCache
from aether.security.sessions import Session
from tests.gateway.conftest import Gateway, register
from tests.support import wait_for


def test_logout_through_one_gateway_ends_the_session_on_the_other(two_gateways: tuple[Gateway, Gateway]) -> None:
    a, b = two_gateways
    with a.client() as ca, b.client() as cb:
        account = register(ca)
        assert cb.get("/v1/me", headers=account["headers"]).status_code == 200  # now cached in b
        assert ca.delete("/v1/sessions/current", headers=account["headers"]).status_code == 204
        wait_for(
            lambda: cb.get("/v1/me", headers=account["headers"]).status_code == 401,
            timeout=5,
            what="gateway b to refuse the revoked token",
        )


async def test_changes_to_preferences_and_role_reach_the_other_gateway(
    two_gateways: tuple[Gateway, Gateway], db: Database
) -> None:
    a, b = two_gateways
    with a.client() as ca, b.client() as cb:
        register(ca)  # the first account of an installation is its admin
        account = register(ca)
        headers = account["headers"]
        assert cb.get("/v1/me/preferences", headers=headers).json()["preferences"].get("language") != "de"
        r = ca.put("/v1/me/preferences", headers=headers, json={"language": "de"})
        assert r.status_code == 200, r.text
        wait_for(
            lambda: cb.get("/v1/me/preferences", headers=headers).json()["preferences"].get("language") == "de",
            timeout=5,
            what="gateway b to see the new preferences",
        )
        assert cb.get("/v1/admin/users", headers=headers).status_code == 403
        await db.execute("UPDATE users SET role = 'admin' WHERE email = %s", (account["email"],))
        wait_for(
            lambda: cb.get("/v1/admin/users", headers=headers).status_code == 200,
            timeout=5,
            what="gateway b to see the new role",
        )
        await db.execute("UPDATE users SET is_active = FALSE WHERE email = %s", (account["email"],))
        wait_for(
            lambda: (
                ca.get("/v1/me", headers=headers).status_code == 401
                and cb.get("/v1/me", headers=headers).status_code == 401
            ),
            timeout=5,
            what="both gateways to refuse a deactivated user",
        )


def _session(token: str, session_id: str = "s1", user_id: int = 1) -> Session:
    return Session(
        session_id=session_id,
        user_id=user_id,
        email="a@example.org",
        display_name=None,
        role="user",
        preferences={},
        expires_at=datetime(2100, 1, 1),
        token=token,
    )


def test_cache_rules() -> None:
    cache = SessionCache(60.0)
    cache.put(_session("t1"), cache.generation)
    assert cache.get("t1") is None  # not listening: nothing is trusted from memory
    cache.set_listening(True)
    generation = cache.generation
    cache.put(_session("t1"), generation)
    assert cache.get("t1") is not None
    cache.announce("s:s1")
    assert cache.get("t1") is None
    cache.put(_session("t1"), generation)  # looked up before the announcement: not cached
    assert cache.get("t1") is None
    cache.put(_session("t2", "s2", user_id=7), cache.generation)
    cache.put(_session("t3", "s3", user_id=8), cache.generation)
    cache.announce("u:7")
    assert cache.get("t2") is None and cache.get("t3") is not None
    cache.set_listening(False)
    assert cache.get("t3") is None
    trusting = SessionCache(60.0, trust_ttl=True)  # AETHER_DATABASE_LISTEN=false: the TTL alone bounds it
    trusting.put(_session("t4"), trusting.generation)
    assert trusting.get("t4") is not None
