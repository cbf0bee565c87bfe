"""Shows CRUD: ownership (another user's ids are 404), slugs, validation, pagination."""

from __future__ import annotations

import uuid

import httpx

from aether.db.pool import Database
from aether.podcasts import shows
from tests.gateway.conftest import create_show, register


async def test_create_get_patch_delete(client: httpx.Client, db: Database) -> None:
    auth = register(client)
    show = create_show(
        client,
        auth,
        title="Café Tech Talk",
        hosts=["Ada", "Grace"],
        schedule="0 6 * * 1",
        sources=["https://example.org/feed.xml"],
    )
    assert show["slug"] == "cafe-tech-talk"
    assert show["feed_url"].endswith("/shows/cafe-tech-talk/feed.xml")
    assert uuid.UUID(show["guid"]).version == 5
    r = client.get(f"/v1/shows/{show['id']}", headers=auth["headers"])
    assert r.status_code == 200 and [h["name"] for h in r.json()["show"]["hosts"]] == ["Ada", "Grace"]
    r = client.patch(f"/v1/shows/{show['id']}", json={"title": "New title", "explicit": True}, headers=auth["headers"])
    assert r.status_code == 200
    assert r.json()["show"]["title"] == "New title" and r.json()["show"]["explicit"] is True
    assert r.json()["show"]["slug"] == "cafe-tech-talk"  # the feed URL never changes
    assert client.delete(f"/v1/shows/{show['id']}", headers=auth["headers"]).status_code == 204
    assert client.get(f"/v1/shows/{show['id']}", headers=auth["headers"]).status_code == 404
    assert (await db.fetch_one("SELECT count(*) AS n FROM shows"))["n"] == 0  # type: ignore[index]


def test_podcast_guid_follows_the_podcast_namespace_spec(client: httpx.Client) -> None:
    # the spec's own example: the feed URL without its scheme and trailing slashes, UUIDv5 in its namespace
    assert str(uuid.uuid5(shows.PODCAST_NAMESPACE, "mp3s.nashownotes.com/pc20rss.xml")) == (
        "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    )
    show = create_show(client, register(client), title="Guid Show")
    feed = show["feed_url"].split("://", 1)[1].rstrip("/")
    assert show["guid"] == str(uuid.uuid5(uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), feed))


def test_same_title_gets_a_new_slug_but_a_chosen_taken_slug_is_409(client: httpx.Client) -> None:
    auth = register(client)
    first = create_show(client, auth, title="Daily")
    second = create_show(client, auth, title="Daily")
    assert (first["slug"], second["slug"]) == ("daily", "daily-2")
    r = client.post("/v1/shows", json={"title": "Other", "slug": "daily"}, headers=auth["headers"])
    assert r.status_code == 409 and r.json()["error"]["field"] == "slug"


async def test_validation(client: httpx.Client, db: Database) -> None:
    auth = register(client)
    cases = [
        ({"title": ""}, "title"),
        ({"title": "t", "slug": "Bad Slug"}, "slug"),
        ({"title": "t", "language": "english!"}, "language"),
        ({"title": "t", "schedule": "every day"}, "schedule"),
        ({"title": "t", "sources": ["ftp://x"]}, "sources.0"),
        ({"title": "t", "owner_email": "nope"}, "owner_email"),
        ({"title": "t", "explicit": "maybe"}, "explicit"),
        ({"title": "t", "extra": 1}, "extra"),
    ]
    for body, field in cases:
        r = client.post("/v1/shows", json=body, headers=auth["headers"])
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["field"] == field, (body, r.json())
    r = client.patch("/v1/shows/1", json={"title": None}, headers=auth["headers"])
    assert r.status_code in (404, 422)
    assert (await db.fetch_one("SELECT count(*) AS n FROM shows"))["n"] == 0  # type: ignore[index]


def test_a_schedule_has_5_fields_and_runs_at_most_once_an_interval(client: httpx.Client) -> None:
    auth = register(client)
    sources = ["https://example.org/feed.xml"]
    for cron, rule in (
        ("0 6 * * 1 0", "exactly 5 fields"),  # croniter alone takes a 6th (seconds) field
        ("@daily", "exactly 5 fields"),
        ("*/30 * * * *", "60 minutes"),  # AETHER_SCHEDULE_MIN_INTERVAL_MINUTES' default
        ("0 0 31 2 *", "never fires"),
    ):
        r = client.post("/v1/shows", json={"title": "t", "schedule": cron, "sources": sources}, headers=auth["headers"])
        assert r.status_code == 422, (cron, r.text)
        assert r.json()["error"]["field"] == "schedule" and rule in r.json()["error"]["message"], r.json()
    show = create_show(client, auth, schedule="0  *  * * *", sources=sources)
    assert show["schedule"] == "0 * * * *"
    r = client.patch(f"/v1/shows/{show['id']}", json={"schedule": "*/5 * * * *"}, headers=auth["headers"])
    assert r.status_code == 422 and r.json()["error"]["field"] == "schedule"
    assert client.get(f"/v1/shows/{show['id']}", headers=auth["headers"]).json()["show"]["schedule"] == "0 * * * *"


def test_other_users_shows_are_404(client: httpx.Client) -> None:
    alice = register(client)
    bob = register(client)
    show = create_show(client, alice)
    for method, body in (("GET", None), ("PATCH", {"title": "x"}), ("DELETE", None)):
        r = client.request(method, f"/v1/shows/{show['id']}", json=body, headers=bob["headers"])
        assert r.status_code == 404, method
    assert client.get("/v1/shows", headers=bob["headers"]).json()["items"] == []
    assert client.get("/v1/shows/999999", headers=alice["headers"]).status_code == 404
    assert client.get("/v1/shows").status_code == 401


def test_keyset_pagination(client: httpx.Client) -> None:
    auth = register(client)
    made = [create_show(client, auth, title=f"Show {i}")["id"] for i in range(5)]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/shows", params=params, headers=auth["headers"]).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True)
    assert client.get("/v1/shows", params={"limit": 101}, headers=auth["headers"]).status_code == 422
    r = client.get("/v1/shows", params={"cursor": "garbage!"}, headers=auth["headers"])
    assert r.status_code == 422 and r.json()["error"]["field"] == "cursor"


async def test_the_show_bible_through_the_api(client: httpx.Client, db: Database) -> None:
    """Hosts as objects (plain names still accepted), the lexicon, intro and outro, music, loudness, review;
    every rule a clear 422 naming the field, and a refused change writes nothing."""
    auth = register(client)
    show = create_show(client, auth, hosts=["Ada", {"name": "Bo", "persona": "the sceptic"}])
    assert show["hosts"] == [
        {"name": "Ada", "persona": "", "voice": None},
        {"name": "Bo", "persona": "the sceptic", "voice": None},
    ]
    assert (show["music"], show["loudness_lufs"], show["review"], show["pronunciations"]) == (True, -16.0, False, [])
    bible = {
        "hosts": [
            {"name": "Ada", "persona": "asks", "voice": {"engine": "piper", "pitch": 1.1, "tempo": 0.95}},
            {"name": "Bo", "voice": {"engine": "api", "voice": "alloy", "language": "en"}},
        ],
        "pronunciations": [{"text": "Lindqvist", "say": "Lind-kvist"}],
        "intro": "Welcome aboard.",
        "outro": "Fair winds.",
        "music": False,
        "loudness_lufs": -19,
        "review": True,
    }
    r = client.patch(f"/v1/shows/{show['id']}", json=bible, headers=auth["headers"])
    assert r.status_code == 200, r.text
    changed = r.json()["show"]
    assert changed["hosts"][0]["voice"] == {
        "engine": "piper",
        "model": None,
        "voice": None,
        "pitch": 1.1,
        "tempo": 0.95,
        "volume_db": 0.0,
        "language": None,
    }
    assert changed["hosts"][1]["voice"]["voice"] == "alloy"
    assert {k: changed[k] for k in ("pronunciations", "intro", "outro", "music", "loudness_lufs", "review")} == {
        k: v for k, v in bible.items() if k != "hosts"
    }
    before = await db.fetch_one("SELECT * FROM shows WHERE id = %s", (show["id"],))
    for body, field in (
        ({"hosts": [{"name": "Ada", "voice": {"pitch": 3}}]}, "hosts.0.voice.pitch"),
        ({"hosts": [{"name": "Ada", "voice": {"engine": "espeak"}}]}, "hosts.0.voice.engine"),
        ({"hosts": ["Ada", "ada"]}, "hosts"),
        ({"hosts": [{"name": ""}]}, "hosts.0.name"),
        ({"pronunciations": [{"text": "X"}]}, "pronunciations.0.say"),
        ({"pronunciations": [{"text": "X", "say": "y"}, {"text": "X", "say": "z"}]}, "pronunciations"),
        ({"loudness_lufs": -2}, "loudness_lufs"),
        ({"intro": "x" * 501}, "intro"),
        ({"review": None}, "review"),
        ({"music": "maybe"}, "music"),
    ):
        r = client.patch(f"/v1/shows/{show['id']}", json=body, headers=auth["headers"])
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["field"] == field, (body, r.json())
    assert await db.fetch_one("SELECT * FROM shows WHERE id = %s", (show["id"],)) == before
