"""Idempotency keys belong to their user: authentication comes before the key, and two users may use the
same key independently (through the real episode-creation API)."""

from __future__ import annotations

import uuid

import httpx

from aether.db.pool import Database
from tests.gateway.conftest import create_show, register


def _create(client: httpx.Client, headers: dict[str, str], show_id: int, key: str, topic: str) -> httpx.Response:
    return client.post(
        f"/v1/shows/{show_id}/episodes", json={"topic": topic}, headers={**headers, "Idempotency-Key": key}
    )


async def test_keys_are_scoped_per_user_and_checked_after_authentication(client: httpx.Client, db: Database) -> None:
    alice, bob = register(client), register(client)
    alice_show, bob_show = create_show(client, alice), create_show(client, bob)
    key = str(uuid.uuid4())
    first = _create(client, alice["headers"], alice_show["id"], key, "Alice's topic here")
    assert first.status_code == 202, first.text

    # anonymous: 401, whatever the key (nobody learns that the key exists)
    r = _create(client, {}, alice_show["id"], key, "Alice's topic here")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = _create(client, {"Authorization": "Bearer forged"}, alice_show["id"], key, "Something else entirely")
    assert r.status_code == 401

    # Bob's use of the same key is his own request: it runs, and replays for him alone
    second = _create(client, bob["headers"], bob_show["id"], key, "Bob's different topic")
    assert second.status_code == 202, second.text
    assert second.json()["episode"]["id"] != first.json()["episode"]["id"]
    again = _create(client, bob["headers"], bob_show["id"], key, "Bob's different topic")
    assert again.status_code == 202 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == second.json()
    # Alice's replay is still hers
    replay = _create(client, alice["headers"], alice_show["id"], key, "Alice's topic here")
    assert replay.json() == first.json()
    # a new login of the same user replays too (the key is the user's, not the token's)
    r = client.post("/v1/sessions", json={"email": alice["email"], "password": alice["password"]})
    fresh = {"Authorization": f"Bearer {r.json()['token']}"}
    assert _create(client, fresh, alice_show["id"], key, "Alice's topic here").json() == first.json()
    rows = await db.fetch_all("SELECT workflow_id FROM idempotency_keys WHERE idempotency_key = %s ORDER BY 1", (key,))
    assert [r["workflow_id"] for r in rows] == sorted([f"user:{alice['user']['id']}", f"user:{bob['user']['id']}"])
    assert (await db.fetch_one("SELECT count(*) AS n FROM episodes"))["n"] == 2  # type: ignore[index]
