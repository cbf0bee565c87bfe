"""Users, sessions, preferences, CSRF and login rate limiting through the real HTTP API."""

from __future__ import annotations

import httpx

from aether.db.pool import Database
from aether.security.sessions import csrf_token
from tests.gateway.conftest import Gateway, register


async def test_register_first_user_is_admin_then_users(client: httpx.Client, db: Database) -> None:
    first = register(client)
    second = register(client)
    assert first["user"]["role"] == "admin"
    assert second["user"]["role"] == "user"
    row = await db.fetch_one("SELECT password_hash FROM users WHERE email = %s", (first["email"],))
    assert row is not None and row["password_hash"].startswith("$argon2id$")


def test_register_duplicate_email_is_409_case_insensitive(client: httpx.Client) -> None:
    auth = register(client, "Dup@Example.org")
    r = client.post("/v1/users", json={"email": "dup@example.org", "password": "another password"})
    assert r.status_code == 409
    assert r.json()["error"]["field"] == "email"
    assert auth["user"]["email"] == "Dup@Example.org"


def test_register_rules(client: httpx.Client) -> None:
    r = client.post("/v1/users", json={"email": "a@example.org", "password": "short"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "password"
    assert "at least 10 characters" in r.json()["error"]["message"]
    r = client.post("/v1/users", json={"email": "a@example.org", "password": "Password123"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "password"
    assert "common" in r.json()["error"]["message"]
    r = client.post("/v1/users", json={"password": "long enough pw"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "email"


def test_login_wrong_password_is_401(client: httpx.Client) -> None:
    auth = register(client)
    r = client.post("/v1/sessions", json={"email": auth["email"], "password": "wrong password"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = client.post("/v1/sessions", json={"email": "nobody@example.org", "password": "wrong password"})
    assert r.status_code == 401


async def test_token_is_stored_only_as_a_hash(client: httpx.Client, db: Database) -> None:
    auth = register(client)
    rows = await db.fetch_all("SELECT token_hash FROM user_sessions")
    assert rows and all(len(r["token_hash"]) == 64 for r in rows)
    assert all(auth["token"] not in r["token_hash"] for r in rows)


def test_me_and_bearer_errors(client: httpx.Client) -> None:
    auth = register(client)
    r = client.get("/v1/me", headers=auth["headers"])
    assert r.status_code == 200 and r.json()["user"]["email"] == auth["email"]
    assert client.get("/v1/me").status_code == 401
    r = client.get("/v1/me", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["error"]["field"] == "Authorization"
    r = client.get("/v1/me", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


async def test_sliding_expiry_renews_the_session(client: httpx.Client, db: Database) -> None:
    auth = register(client)
    await db.execute(
        "UPDATE user_sessions SET last_seen_at = LOCALTIMESTAMP - interval '2 hours', "
        "expires_at = LOCALTIMESTAMP + interval '1 hour'"
    )
    assert client.get("/v1/me", headers=auth["headers"]).status_code == 200
    row = await db.fetch_one("SELECT expires_at - LOCALTIMESTAMP AS left FROM user_sessions")
    assert row is not None and row["left"].total_seconds() > 3600 * 24


async def test_expired_session_is_rejected(client: httpx.Client, db: Database) -> None:
    auth = register(client)
    await db.execute("UPDATE user_sessions SET expires_at = LOCALTIMESTAMP - interval '1 second'")
    assert client.get("/v1/me", headers=auth["headers"]).status_code == 401


def test_preferences_roundtrip_and_validation(client: httpx.Client) -> None:
    auth = register(client)
    prefs = {"hosts": ["Ada", "Grace"], "voice": "joe", "voice_speed": 1.1, "episode_minutes": 7, "language": "en"}
    r = client.put("/v1/me/preferences", json=prefs, headers=auth["headers"])
    assert r.status_code == 200 and r.json()["preferences"] == prefs
    assert client.get("/v1/me/preferences", headers=auth["headers"]).json()["preferences"] == prefs
    r = client.put("/v1/me/preferences", json={"episode_minutes": 0}, headers=auth["headers"])
    assert r.status_code == 422 and r.json()["error"]["field"] == "episode_minutes"
    r = client.put("/v1/me/preferences", json={"colour": "red"}, headers=auth["headers"])
    assert r.status_code == 422 and r.json()["error"]["field"] == "colour"
    # a new session starts with the latest preferences
    r = client.post("/v1/sessions", json={"email": auth["email"], "password": auth["password"]})
    token = r.json()["token"]
    assert client.get("/v1/me/preferences", headers={"Authorization": f"Bearer {token}"}).json()["preferences"] == prefs


def test_list_and_revoke_own_sessions_only(client: httpx.Client) -> None:
    alice = register(client)
    bob = register(client)
    r = client.post("/v1/sessions", json={"email": alice["email"], "password": alice["password"]})
    other = r.json()
    items = client.get("/v1/sessions", headers=alice["headers"]).json()["items"]
    assert len(items) == 2 and sum(1 for i in items if i["current"]) == 1
    # Bob cannot revoke Alice's session: 404
    r = client.delete(f"/v1/sessions/{other['session_id']}", headers=bob["headers"])
    assert r.status_code == 404
    assert client.delete("/v1/sessions/not-a-uuid", headers=alice["headers"]).status_code == 404
    r = client.delete(f"/v1/sessions/{other['session_id']}", headers=alice["headers"])
    assert r.status_code == 204
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {other['token']}"}).status_code == 401
    assert client.delete("/v1/sessions/current", headers=alice["headers"]).status_code == 204
    assert client.get("/v1/me", headers=alice["headers"]).status_code == 401


def test_login_rate_limit(client: httpx.Client, gateway: Gateway) -> None:
    auth = register(client)
    for _ in range(gateway.settings.login_max_failures):
        r = client.post("/v1/sessions", json={"email": auth["email"], "password": "wrong password"})
        assert r.status_code == 401
    r = client.post("/v1/sessions", json={"email": auth["email"], "password": auth["password"]})
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert r.json()["error"]["code"] == "rate_limited"


def test_cookie_auth_needs_csrf_for_unsafe_methods(client: httpx.Client) -> None:
    auth = register(client)
    cookies = {"aether_session": auth["token"]}
    with httpx.Client(base_url=str(client.base_url), cookies=cookies) as browser:
        assert browser.get("/v1/me").status_code == 200
        r = browser.put("/v1/me/preferences", json={"language": "de"})
        assert r.status_code == 403 and r.json()["error"]["field"] == "csrf_token"
        r = browser.put("/v1/me/preferences", json={"language": "de"}, headers={"X-CSRF-Token": "wrong"})
        assert r.status_code == 403
        r = browser.put(
            "/v1/me/preferences", json={"language": "de"}, headers={"X-CSRF-Token": csrf_token(auth["token"])}
        )
        assert r.status_code == 200


def test_admin_users_needs_admin(client: httpx.Client) -> None:
    admin = register(client)
    user = register(client)
    assert client.get("/v1/admin/users", headers=user["headers"]).status_code == 403
    r = client.get("/v1/admin/users", headers=admin["headers"])
    assert r.status_code == 200 and len(r.json()["items"]) == 2


def test_passwords_are_taken_exactly_as_typed(client: httpx.Client) -> None:
    auth = register(client, password="  padded secret  ")
    r = client.post("/v1/sessions", json={"email": auth["email"], "password": "padded secret"})
    assert r.status_code == 401
    r = client.post("/v1/sessions", json={"email": auth["email"], "password": "  padded secret  "})
    assert r.status_code == 201
