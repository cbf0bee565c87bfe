"""A show's publishing targets through /v1/shows: stored on create, replaced on PATCH, bad ones refused
with the field named and nothing changed; setting a schedule records when it was set."""

from __future__ import annotations

import httpx

from aether.db.pool import Database
from tests.gateway.conftest import create_show, register

TARGETS = {"telegram": {"chat_ids": ["@aether_news", "-1001234567890"]}, "youtube": {"privacy_status": "unlisted"}}


async def test_targets_are_stored_returned_and_replaced(client: httpx.Client, db: Database) -> None:
    auth = register(client)
    show = create_show(client, auth, targets=TARGETS)
    assert show["targets"] == {
        "telegram": {"chat_ids": ["@aether_news", -1001234567890]},
        "youtube": {"privacy_status": "unlisted", "shorts": True},
        "websub": True,
    }
    row = await db.fetch_one("SELECT targets FROM shows WHERE id = %s", (show["id"],))
    assert row is not None and row["targets"] == show["targets"]
    assert create_show(client, auth, title="Plain")["targets"] == {"websub": True}

    r = client.patch(f"/v1/shows/{show['id']}", json={"targets": {"websub": False}}, headers=auth["headers"])
    assert r.status_code == 200, r.text
    assert r.json()["show"]["targets"] == {"websub": False}  # replaced whole
    r = client.patch(f"/v1/shows/{show['id']}", json={"description": "other"}, headers=auth["headers"])
    assert r.json()["show"]["targets"] == {"websub": False}  # untouched by other changes
    r = client.patch(f"/v1/shows/{show['id']}", json={"targets": None}, headers=auth["headers"])
    assert r.json()["show"]["targets"] == {"websub": True}  # null: back to no targets


async def test_bad_targets_name_the_field_and_change_nothing(client: httpx.Client, db: Database) -> None:
    auth = register(client)
    cases = [
        ({"telegram": {"chat_ids": ["news"]}}, "targets.telegram.chat_ids.0"),
        ({"telegram": {"chat_ids": []}}, "targets.telegram.chat_ids"),
        ({"youtube": {"privacy_status": "secret"}}, "targets.youtube.privacy_status"),
        ({"instagram": {}}, "targets.instagram"),
    ]
    for targets, field in cases:
        r = client.post("/v1/shows", json={"title": "Bad", "targets": targets}, headers=auth["headers"])
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == field and r.json()["error"]["message"].startswith(field)
    assert await db.fetch_one("SELECT count(*) AS n FROM shows") == {"n": 0}

    show = create_show(client, auth, targets=TARGETS)
    r = client.patch(
        f"/v1/shows/{show['id']}", json={"targets": {"telegram": {"chat_ids": [True]}}}, headers=auth["headers"]
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "targets.telegram.chat_ids.0"
    row = await db.fetch_one("SELECT targets FROM shows WHERE id = %s", (show["id"],))
    assert row is not None and row["targets"] == show["targets"]


async def test_setting_a_schedule_records_when(client: httpx.Client, db: Database) -> None:
    auth = register(client)
    show = create_show(client, auth, schedule="0 6 * * 1")
    first = await db.fetch_one("SELECT schedule_fired_at FROM shows WHERE id = %s", (show["id"],))
    assert first is not None and first["schedule_fired_at"] is not None
    client.patch(f"/v1/shows/{show['id']}", json={"title": "Renamed"}, headers=auth["headers"])
    assert await db.fetch_one("SELECT schedule_fired_at FROM shows WHERE id = %s", (show["id"],)) == first
    client.patch(f"/v1/shows/{show['id']}", json={"schedule": None}, headers=auth["headers"])
    assert await db.fetch_one("SELECT schedule_fired_at FROM shows WHERE id = %s", (show["id"],)) == {
        "schedule_fired_at": None
    }
