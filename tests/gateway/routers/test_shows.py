"""Shows CRUD: ownership (another user's ids are 404), slugs, validation, pagination."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from aether import storage
from aether.config import Settings
from aether.db.pool import Database
from aether.podcasts import shows
from aether.queue.tasks import HandlerSpec, TaskContext
from tests.gateway.conftest import Gateway, create_show, register, start_gateway
from tests.podcasts import media_standins
from tests.podcasts.conftest import FAST, WorkerThread
from tests.queue.helpers import until


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
    # a pattern's rule in words, never the regular expression
    words = {
        "slug": "slug: must be lowercase letters and digits in words joined by single hyphens, such as my-show",
        "language": "language: must be a language code such as en or en-US",
    }
    for body, field in cases[1:3]:
        message = client.post("/v1/shows", json=body, headers=auth["headers"]).json()["error"]["message"]
        assert message == words[field] and "^" not in message, message
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


def test_the_offline_writer_refuses_a_language_it_cannot_write(client: httpx.Client) -> None:
    """No LLM configured: the offline writer writes English only, so a Norwegian show is a 422 at once
    (not English audio later); English variants are fine."""
    auth = register(client)
    r = client.post("/v1/shows", json={"title": "Nyheter", "language": "nb"}, headers=auth["headers"])
    assert r.status_code == 422 and r.json()["error"]["field"] == "language"
    assert "the offline writer writes en only" in r.json()["error"]["message"]
    assert "AETHER_LLM_BASE_URL" in r.json()["error"]["message"]
    show = create_show(client, auth, language="en-GB")
    r = client.patch(f"/v1/shows/{show['id']}", json={"language": "de"}, headers=auth["headers"])
    assert r.status_code == 422 and r.json()["error"]["field"] == "language"


PRIVATE_SPELLINGS = (
    "http://127.0.0.1:8000/feed.xml",
    "http://0x7f000001/feed.xml",
    "http://2130706433/feed.xml",
    "http://[::1]/feed.xml",
    "http://[::ffff:127.0.0.1]/feed.xml",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.8/feed.xml",
    "http://localhost:9/feed.xml",
)


async def test_sources_at_private_addresses_are_422_naming_the_field(settings: Settings, db: Database) -> None:
    """With default settings (AETHER_FETCH_ALLOW_PRIVATE off) a show's sources and an episode's sources
    must be public: create, update and episode requests are refused, and nothing is stored."""
    gw, thread = start_gateway(settings.model_copy(update={"fetch_allow_private": False}))
    try:
        with gw.client() as client:
            auth = register(client)
            ok = ["https://feeds.example.org/tests.xml", "https://samples.aether.invalid/feed.xml"]
            show = create_show(client, auth, sources=ok)  # names that do not resolve now are accepted
            for url in PRIVATE_SPELLINGS:
                r = client.post("/v1/shows", json={"title": "Leaky", "sources": [ok[0], url]}, headers=auth["headers"])
                assert r.status_code == 422, (url, r.text)
                error = r.json()["error"]
                assert error["field"] == "sources[1]" and error["message"].startswith("sources[1]: "), error
                r = client.patch(f"/v1/shows/{show['id']}", json={"sources": [url]}, headers=auth["headers"])
                assert r.status_code == 422 and r.json()["error"]["field"] == "sources[0]", (url, r.text)
                r = client.post(
                    f"/v1/shows/{show['id']}/episodes",
                    json={"topic": "what the metadata service says", "sources": [url]},
                    headers={**auth["headers"], "X-Idempotency-Key": uuid.uuid4().hex},
                )
                assert r.status_code == 422 and r.json()["error"]["field"] == "sources[0]", (url, r.text)
            r = client.get(f"/v1/shows/{show['id']}", headers=auth["headers"])
            assert r.json()["show"]["sources"] == ok
    finally:
        gw.server.should_exit = True
        thread.join(timeout=30)
    assert (await db.fetch_one("SELECT count(*) AS n FROM shows"))["n"] == 1  # type: ignore[index]
    assert (await db.fetch_one("SELECT count(*) AS n FROM episodes"))["n"] == 0  # type: ignore[index]


async def test_deleting_a_show_cancels_its_workflow_and_deletes_its_objects(
    client: httpx.Client, gateway: Gateway, db: Database
) -> None:
    """Show A's episode is mid-render (its voice step running, its cover and a transcript stored) when A is
    deleted: the workflow is cancelled, the running handler is told to stop, nothing of it runs again, and
    the objects only A used are gone from the object store; the cover that show B's episode shares
    (objects are content-addressed: B's cover step found A's) stays."""
    settings = gateway.settings.model_copy(update=FAST)
    standins = media_standins.handlers()
    calls: list[tuple[str, str | None]] = []
    rendering, stopped = threading.Event(), threading.Event()
    auth = register(client)
    a = create_show(client, auth, title="Show A")
    b = create_show(client, auth, title="Show B")

    def recorded(spec: HandlerSpec) -> HandlerSpec:
        async def run(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
            calls.append((spec.task_type, ctx.workflow_id))
            return await spec.fn(ctx, payload)

        return HandlerSpec(spec.task_type, spec.agent, run)

    async def voice(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
        """Show A's render stores its first object, then works until it is told to stop; B's is the stand-in."""
        show = await ctx.db.fetch_one("SELECT show_id FROM episodes WHERE workflow_id = %s", (ctx.workflow_id,))
        if show is None or show["show_id"] != a["id"]:
            return await standins["vfa.synthesize"].fn(ctx, payload)
        obj = storage.ObjectStore.from_settings(ctx.settings).put_bytes(
            f"WEBVTT\n\nNOTE {ctx.workflow_id}\n".encode(), suffix=".vtt"
        )
        async with ctx.db.transaction() as conn:
            await storage.record_asset(conn, "episode.vtt", "transcript", obj, {"workflow_id": ctx.workflow_id})
        rendering.set()
        await ctx.cancel_event.wait()
        stopped.set()
        ctx.check_cancelled()
        return {}

    handlers = standins | {"vfa.synthesize": HandlerSpec("vfa.synthesize", "vfa", voice)}
    worker = WorkerThread(settings, handlers={t: recorded(spec) for t, spec in handlers.items()}).start()
    try:
        episode = _create_episode(client, auth, a["id"], "the stand-in topic of A")
        row = await db.fetch_one("SELECT workflow_id FROM episodes WHERE id = %s", (episode,))
        assert row is not None
        workflow_id = str(row["workflow_id"])
        await until(lambda: _true(rendering.is_set()), timeout=60, what="A's voice step to be rendering")
        published = _create_episode(client, auth, b["id"], "the stand-in topic of B")
        assert await until(lambda: _status(db, published), timeout=60, what="B's episode") == "published"

        made = await db.fetch_all(
            "SELECT id, type, path FROM assets WHERE workflow_id = %s ORDER BY id", (workflow_id,)
        )
        assert sorted(r["type"] for r in made) == ["image", "transcript"]
        cover = next(r for r in made if r["type"] == "image")
        own = [r for r in made if r["type"] == "transcript"]
        assert all(_file(r["path"]).is_file() for r in made)

        assert client.delete(f"/v1/shows/{a['id']}", headers=auth["headers"]).status_code == 204
        flow = await db.fetch_one("SELECT status FROM workflow_instances WHERE workflow_id = %s", (workflow_id,))
        assert flow is not None and flow["status"] == "cancelled"
        await until(lambda: _true(stopped.is_set()), timeout=30, what="the running voice handler to stop")
        await until(lambda: _none_live(db, workflow_id), timeout=30, what="every task of A's workflow to end")

        assert not any(_file(r["path"]).is_file() for r in own)  # A's own objects are gone from the store
        left = await db.fetch_all("SELECT id FROM assets WHERE workflow_id = %s ORDER BY id", (workflow_id,))
        assert [r["id"] for r in left] == [cover["id"]]  # and their asset rows; the shared cover stays
        assert _file(cover["path"]).is_file()

        # the worker goes on working (another episode of B, start to end), and nothing of A's runs again
        again = _create_episode(client, auth, b["id"], "another stand-in topic of B")
        assert await until(lambda: _status(db, again), timeout=60, what="B's second episode") == "published"
    finally:
        worker.stop()
    ran = [task_type for task_type, flow_id in calls if flow_id == workflow_id]
    assert len(ran) == len(set(ran)) and ran[-1] == "vfa.synthesize"  # each step of A's once, voice last
    assert not {"video.render", "publish.release"} & set(ran)  # the steps after the voice never ran
    count = await db.fetch_one("SELECT count(*) AS n FROM episodes WHERE show_id = %s", (a["id"],))
    assert count is not None and count["n"] == 0


def _create_episode(client: httpx.Client, auth: dict[str, Any], show_id: int, topic: str) -> str:
    r = client.post(
        f"/v1/shows/{show_id}/episodes",
        json={"topic": topic, "episode_minutes": 1},
        headers={**auth["headers"], "X-Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 202, r.text
    return str(r.json()["episode"]["id"])


async def _status(db: Database, episode_id: str) -> str | None:
    row = await db.fetch_one("SELECT status FROM episodes WHERE id = %s", (episode_id,))
    return str(row["status"]) if row and row["status"] in ("published", "failed") else None


async def _true(value: bool) -> bool | None:
    return value or None


async def _none_live(db: Database, workflow_id: str) -> bool | None:
    live = await db.fetch_one(
        "SELECT count(*) AS n FROM tasks WHERE workflow_id = %s AND status IN ('pending', 'in_progress')",
        (workflow_id,),
    )
    return (live is not None and live["n"] == 0) or None


def _file(uri: str) -> Path:
    return Path(unquote(urlsplit(uri).path))
