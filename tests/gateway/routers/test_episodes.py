"""Episodes: idempotent creation (replay, different payload 422, in flight 409, missing key 400),
listing with keyset pagination, detail, progress, server-sent events, ownership."""

from __future__ import annotations

import json
import threading
import uuid

import httpx

from aether.db.pool import Connection, Database
from tests.gateway.conftest import create_show, register


def _post(client: httpx.Client, auth: dict, show_id: int, body: dict, key: str | None) -> httpx.Response:
    headers = dict(auth["headers"])
    if key is not None:
        headers["X-Idempotency-Key"] = key
    return client.post(f"/v1/shows/{show_id}/episodes", json=body, headers=headers)


async def test_create_starts_the_workflow_and_replays(client: httpx.Client, db: Database) -> None:
    auth = register(client)
    client.put("/v1/me/preferences", json={"hosts": ["Ada"], "episode_minutes": 3}, headers=auth["headers"])
    show = create_show(client, auth)
    key = str(uuid.uuid4())
    body = {"topic": "The history of RSS", "title": "RSS at 25"}
    first = _post(client, auth, show["id"], body, key)
    assert first.status_code == 202, first.text
    episode = first.json()["episode"]
    assert episode["status"] == "processing" and episode["title"] == "RSS at 25"
    workflow = await db.fetch_one(
        "SELECT * FROM workflow_instances WHERE workflow_id = %s", (first.json()["workflow_id"],)
    )
    assert workflow is not None and workflow["definition_name"] == "podcast_episode"
    assert workflow["params"]["hosts"] == ["Ada"] and workflow["params"]["episode_minutes"] == 3
    assert workflow["params"]["episode_id"] == episode["id"]
    replay = _post(client, auth, show["id"], {"title": "RSS at 25", "topic": "The history of RSS"}, key)
    assert replay.status_code == 202 and replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert (await db.fetch_one("SELECT count(*) AS n FROM episodes"))["n"] == 1  # type: ignore[index]
    assert (await db.fetch_one("SELECT count(*) AS n FROM workflow_instances"))["n"] == 1  # type: ignore[index]


async def test_idempotency_errors(client: httpx.Client, db: Database) -> None:
    auth = register(client)
    show = create_show(client, auth)
    r = _post(client, auth, show["id"], {"topic": "no key"}, None)
    assert r.status_code == 400 and r.json()["error"]["field"] == "Idempotency-Key"
    key = str(uuid.uuid4())
    assert _post(client, auth, show["id"], {"topic": "first payload"}, key).status_code == 202
    r = _post(client, auth, show["id"], {"topic": "another payload"}, key)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
    # a key whose first request is still running is 409
    other = str(uuid.uuid4())
    await db.execute(
        "INSERT INTO idempotency_keys (idempotency_key, workflow_id, task_name, status, locked_until) "
        "VALUES (%s, %s, 'POST', 'processing', LOCALTIMESTAMP + interval '1 minute')",
        (other, f"user:{auth['user']['id']}"),  # keys are scoped to their user
    )
    r = _post(client, auth, show["id"], {"topic": "in flight"}, other)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert (await db.fetch_one("SELECT count(*) AS n FROM episodes"))["n"] == 1  # type: ignore[index]


async def test_validation_and_ownership_write_nothing(client: httpx.Client, db: Database) -> None:
    alice = register(client)
    bob = register(client)
    show = create_show(client, alice)
    for body, field in (
        ({"topic": "x"}, "topic"),
        ({"topic": "valid topic", "episode_minutes": 500}, "episode_minutes"),
        ({"topic": "valid topic", "unknown": 1}, "unknown"),
    ):
        r = _post(client, alice, show["id"], body, str(uuid.uuid4()))
        assert r.status_code == 422 and r.json()["error"]["field"] == field
    r = _post(client, bob, show["id"], {"topic": "not my show"}, str(uuid.uuid4()))
    assert r.status_code == 404
    r = _post(client, alice, 999999, {"topic": "no such show"}, str(uuid.uuid4()))
    assert r.status_code == 404
    assert (await db.fetch_one("SELECT count(*) AS n FROM episodes"))["n"] == 0  # type: ignore[index]
    assert (await db.fetch_one("SELECT count(*) AS n FROM workflow_instances"))["n"] == 0  # type: ignore[index]


async def test_list_detail_progress_and_publication(client: httpx.Client, db: Database) -> None:
    alice = register(client)
    bob = register(client)
    show = create_show(client, alice)
    made = []
    for i in range(3):
        r = _post(client, alice, show["id"], {"topic": f"Topic number {i}"}, str(uuid.uuid4()))
        made.append(r.json()["episode"]["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/v1/shows/{show['id']}/episodes", params=params, headers=alice["headers"]).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))
    assert [e["id"] for e in client.get("/v1/episodes", headers=alice["headers"]).json()["items"]] == seen
    assert client.get(f"/v1/shows/{show['id']}/episodes", headers=bob["headers"]).status_code == 404
    assert client.get("/v1/episodes", headers=bob["headers"]).json()["items"] == []
    r = client.get(f"/v1/shows/{show['id']}/episodes", params={"cursor": "bad"}, headers=alice["headers"])
    assert r.status_code == 422

    episode_id = made[0]
    progress = client.get(f"/v1/episodes/{episode_id}/progress", headers=alice["headers"]).json()
    assert progress["workflow"]["status"] in ("pending", "running")
    assert progress["total_steps"] >= 1 and progress["steps"][0]["status"] in ("queued", "pending", "in_progress")
    assert client.get(f"/v1/episodes/{episode_id}", headers=bob["headers"]).status_code == 404
    assert client.get(f"/v1/episodes/{episode_id}/progress", headers=bob["headers"]).status_code == 404
    assert client.get("/v1/episodes/not-a-uuid", headers=alice["headers"]).status_code == 404

    # the workflow completes: the episode is published (trigger) and links the audio its steps stored
    workflow_id = progress["workflow"]["id"]
    audio = await db.fetch_one(
        "INSERT INTO assets (name, type, path, metadata) VALUES ('a.mp3', 'audio', '/nowhere/a.mp3', "
        '\'{"bytes": 10, "mime_type": "audio/mpeg", "duration_s": 61.5}\') RETURNING id'
    )
    assert audio is not None
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE task_instances SET status = 'completed', output_summary = %s::jsonb WHERE workflow_id = %s",
            (json.dumps({"audio_asset_id": audio["id"]}), workflow_id),
        )
        await conn.execute(
            "UPDATE workflow_instances SET status = 'completed', completed_at = LOCALTIMESTAMP WHERE workflow_id = %s",
            (workflow_id,),
        )
    detail = client.get(f"/v1/episodes/{episode_id}", headers=alice["headers"]).json()["episode"]
    assert detail["status"] == "published" and detail["published_at"]
    assert detail["media"]["audio"].endswith(f"/media/episodes/{episode_id}/audio.mp3")
    assert detail["duration_seconds"] == 61.5
    assert detail["provenance"]["topic"] == "Topic number 0"
    assert detail["show"]["id"] == show["id"]


async def test_failed_workflow_fails_the_episode(client: httpx.Client, db: Database) -> None:
    auth = register(client)
    show = create_show(client, auth)
    r = _post(client, auth, show["id"], {"topic": "doomed topic"}, str(uuid.uuid4()))
    workflow_id = r.json()["workflow_id"]
    await db.execute("UPDATE workflow_instances SET status = 'failed' WHERE workflow_id = %s", (workflow_id,))
    row = await db.fetch_one("SELECT status FROM episodes")
    assert row is not None and row["status"] == "failed"


def test_server_sent_events_until_done(client: httpx.Client, sync_conn: Connection) -> None:
    auth = register(client)
    show = create_show(client, auth)
    r = _post(client, auth, show["id"], {"topic": "live progress"}, str(uuid.uuid4()))
    episode_id, workflow_id = r.json()["episode"]["id"], r.json()["workflow_id"]
    events: list[tuple[str, dict]] = []
    first_seen = threading.Event()

    def finish() -> None:
        first_seen.wait(30)
        sync_conn.execute(
            "UPDATE workflow_instances SET status = 'completed', completed_at = LOCALTIMESTAMP WHERE workflow_id = %s",
            (workflow_id,),
        )

    threading.Thread(target=finish, daemon=True).start()
    with client.stream("GET", f"/v1/episodes/{episode_id}/events", headers=auth["headers"]) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
                first_seen.set()
                if name == "done":
                    break
    assert events[0][0] == "progress" and events[0][1]["workflow"]["id"] == workflow_id
    assert events[-1] == ("done", {"status": "published"})
    r = client.get(f"/v1/episodes/{uuid.uuid4()}/events", headers=auth["headers"])
    assert r.status_code == 404


async def test_publication_enqueues_the_subscriber_mails_once(client: httpx.Client, db: Database) -> None:
    auth = register(client)
    show = create_show(client, auth)
    r = _post(client, auth, show["id"], {"topic": "mail my subscribers"}, str(uuid.uuid4()))
    episode_id, workflow_id = r.json()["episode"]["id"], r.json()["workflow_id"]
    await db.execute("UPDATE workflow_instances SET status = 'completed' WHERE workflow_id = %s", (workflow_id,))
    await db.execute("UPDATE workflow_instances SET status = 'running' WHERE workflow_id = %s", (workflow_id,))
    await db.execute("UPDATE workflow_instances SET status = 'completed' WHERE workflow_id = %s", (workflow_id,))
    rows = await db.fetch_all("SELECT agent_name, payload, status FROM tasks WHERE task_type = 'mail.notify_episode'")
    assert [(t["agent_name"], t["payload"], t["status"]) for t in rows] == [
        ("mail", {"episode_id": episode_id}, "pending")
    ]
