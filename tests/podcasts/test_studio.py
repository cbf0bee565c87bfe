"""The studio through the API: a script held for review is read, edited (If-Match, 412 on a stale version,
history kept), approved and published; a published episode's edited script renders a new audio version
with its own media URLs, speaking only the changed line (the real voice step, Piper and the clip cache)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aether.config import Settings
from aether.db import Database
from aether.media.ffmpeg import decoded_duration
from tests.gateway.conftest import create_show, register, start_gateway
from tests.podcasts.conftest import WorkerThread
from tests.queue.helpers import until


@pytest.fixture
def studio(fast_settings: Settings) -> Iterator[httpx.Client]:
    gw, thread = start_gateway(fast_settings.model_copy(update={"feed_cache_seconds": 0.0}))
    with gw.client() as client:
        yield client
    gw.server.should_exit = True
    thread.join(timeout=30)


def _new_episode(client: httpx.Client, auth: dict[str, Any], show_id: int, **body: Any) -> dict[str, Any]:
    headers = auth["headers"] | {"X-Idempotency-Key": str(uuid.uuid4())}
    r = client.post(f"/v1/shows/{show_id}/episodes", json={"topic": "Studio test topic", **body}, headers=headers)
    assert r.status_code == 202, r.text
    return dict(r.json()["episode"])


async def _status(client: httpx.Client, auth: dict[str, Any], episode_id: str, wanted: set[str]) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        r = client.get(f"/v1/episodes/{episode_id}", headers=auth["headers"])
        episode = r.json()["episode"]
        return dict(episode) if episode["status"] in wanted else None

    return dict(await until(reached, timeout=120, what=f"episode {episode_id} to be {' or '.join(sorted(wanted))}"))


def _path(url: str) -> str:
    """The path of a media URL (the gateway names them under AETHER_PUBLIC_URL)."""
    return httpx.URL(url).path


async def _render_done(client: httpx.Client, auth: dict[str, Any], episode_id: str, version: int) -> dict[str, Any]:
    async def ready() -> dict[str, Any] | None:
        items = client.get(f"/v1/episodes/{episode_id}/renders", headers=auth["headers"]).json()["items"]
        item = next(i for i in items if i["version"] == version)
        assert item["status"] != "failed", item
        return dict(item) if item["status"] == "ready" else None

    return dict(await until(ready, timeout=180, what=f"version {version} of episode {episode_id}"))


async def test_review_edit_approve_publish(
    studio: httpx.Client, db: Database, fast_settings: Settings, worker_thread: Callable[..., WorkerThread]
) -> None:
    client = studio
    auth = register(client)
    show = create_show(client, auth, review=True, hosts=["Ada", "Bo"])
    worker_thread(fast_settings)
    episode = _new_episode(client, auth, show["id"])
    held = await _status(client, auth, episode["id"], {"review", "failed"})
    assert held["status"] == "review", held["error"]
    assert held["media"]["audio"] is None and held["render"] is None  # nothing voiced yet

    r = client.get(f"/v1/episodes/{episode['id']}/script", headers=auth["headers"])
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'
    script = r.json()
    assert script["version"] == 1
    lines = [line for segment in script["segments"] for line in segment["lines"]]
    assert all(line["id"] and line["speaker"] in ("Ada", "Bo") for line in lines)

    # edit one line, reassign a speaker, add a line, delete a line
    topic = script["segments"][1]["lines"]
    topic[0]["text"] = "An edited line about the studio."
    topic[0]["speaker"] = "Bo"
    topic.append({"speaker": "Ada", "text": "A line the editor added."})
    script["segments"][-1]["lines"] = script["segments"][-1]["lines"][:1]
    headers = auth["headers"]
    assert client.put(f"/v1/episodes/{episode['id']}/script", json=script, headers=headers).status_code == 428
    r = client.put(f"/v1/episodes/{episode['id']}/script", json=script, headers=headers | {"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"' and r.json()["version"] == 2
    edited = r.json()["segments"][1]["lines"]
    assert edited[0] == topic[0] | {"sources": topic[0]["sources"]} and edited[-1]["id"] not in {x["id"] for x in lines}
    stale = client.put(f"/v1/episodes/{episode['id']}/script", json=script, headers=headers | {"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["error"]["field"] == "If-Match"
    # bad edits are refused, naming the field, and change nothing
    wrong = {**script, "segments": [dict(s) for s in script["segments"]]}
    wrong["segments"][1] = {**wrong["segments"][1], "lines": [{"speaker": "Zed", "text": "Who am I?"}]}
    r = client.put(f"/v1/episodes/{episode['id']}/script", json=wrong, headers=headers | {"If-Match": '"2"'})
    assert r.status_code == 422 and "speaker" in r.json()["error"]["field"], r.text
    versions = client.get(f"/v1/episodes/{episode['id']}/script/versions", headers=headers).json()["items"]
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["author"].startswith("user:")

    # a published-only action on an episode in review is a 409 that says what to do
    r = client.post(f"/v1/episodes/{episode['id']}/render", headers=headers)
    assert r.status_code == 409 and "approve" in r.json()["error"]["message"]
    r = client.post(f"/v1/episodes/{episode['id']}/approve", headers=headers)
    assert r.status_code == 202, r.text
    assert r.json()["render_version"] == 1 and r.json()["script_version"] == 2
    assert client.post(f"/v1/episodes/{episode['id']}/approve", headers=headers).status_code == 409

    published = await _status(client, auth, episode["id"], {"published", "failed"})
    assert published["status"] == "published", published["error"]
    assert published["render"]["version"] == 1
    assert published["media"]["audio"].endswith(f"/media/episodes/{episode['id']}/v1/audio.mp3")
    # the approved version is what the voice step spoke (the stand-in records its script in the voice step)
    voice = await db.fetch_one(
        "SELECT t.input_params FROM task_instances t JOIN episode_renders r ON r.workflow_id = t.workflow_id"
        " WHERE r.episode_id = %s AND t.step_name = 'voice'",
        (episode["id"],),
    )
    assert voice is not None
    spoken = [line["text"] for s in voice["input_params"]["script"]["segments"] for line in s["lines"]]
    assert "An edited line about the studio." in spoken and "A line the editor added." in spoken
    feed = client.get(f"/shows/{show['slug']}/feed.xml").text
    assert f"/media/episodes/{episode['id']}/v1/audio.mp3" in feed


@pytest.mark.slow
async def test_an_edited_line_is_the_only_line_spoken_again(
    studio: httpx.Client,
    fast_settings: Settings,
    worker_thread: Callable[..., WorkerThread],
    tmp_path: Path,
) -> None:
    client = studio
    auth = register(client)
    show = create_show(client, auth, hosts=["Ada", "Bo"], pronunciations=[{"text": "Aether", "say": "Ee-ther"}])
    worker_thread(fast_settings.model_copy(update={"music_enabled": False}), real_media=True)
    episode = _new_episode(client, auth, show["id"], episode_minutes=1)
    first = await _status(client, auth, episode["id"], {"published", "failed"})
    assert first["status"] == "published", first["error"]
    assert first["render"]["version"] == 1
    total = first["render"]["lines_total"]
    assert total >= 4 and first["render"]["lines_synthesized"] == total
    v1_audio = client.get(_path(first["media"]["audio"]))
    assert v1_audio.status_code == 200

    r = client.get(f"/v1/episodes/{episode['id']}/script", headers=auth["headers"])
    script = r.json()
    script["segments"][1]["lines"][0]["text"] = "This one line was edited after the episode was published."
    r = client.put(
        f"/v1/episodes/{episode['id']}/script", json=script, headers=auth["headers"] | {"If-Match": r.headers["ETag"]}
    )
    assert r.status_code == 200, r.text
    r = client.post(f"/v1/episodes/{episode['id']}/render", headers=auth["headers"])
    assert r.status_code == 202, r.text
    assert r.json()["render_version"] == 2
    assert client.post(f"/v1/episodes/{episode['id']}/render", headers=auth["headers"]).status_code == 409
    await _render_done(client, auth, episode["id"], 2)

    second = client.get(f"/v1/episodes/{episode['id']}", headers=auth["headers"]).json()["episode"]
    assert second["status"] == "published"
    assert second["render"] == {"version": 2, "lines_total": total, "lines_synthesized": 1}
    assert second["media"]["audio"].endswith("/v2/audio.mp3") and second["media"]["audio"] != first["media"]["audio"]
    v2_audio = client.get(_path(second["media"]["audio"]))
    assert v2_audio.status_code == 200 and v2_audio.content != v1_audio.content
    # the old version keeps its URL and its bytes, and is listed until pruned
    assert client.get(_path(first["media"]["audio"])).content == v1_audio.content
    items = client.get(f"/v1/episodes/{episode['id']}/renders", headers=auth["headers"]).json()["items"]
    assert [(i["version"], i["status"]) for i in items] == [(2, "ready"), (1, "ready")]
    transcript = client.get(_path(second["media"]["transcript"])).text
    assert "This one line was edited after the episode was published." in transcript
    assert "Ee-ther" not in transcript  # the lexicon is for speech only
    feed = client.get(f"/shows/{show['slug']}/feed.xml").text
    assert "/v2/audio.mp3" in feed and "/v1/audio.mp3" not in feed
    # pruning: the current version stays (409); an older one leaves the list and its media go
    r = client.delete(f"/v1/episodes/{episode['id']}/renders/2", headers=auth["headers"])
    assert r.status_code == 409 and r.json()["error"]["field"] == "version"
    assert client.delete(f"/v1/episodes/{episode['id']}/renders/1", headers=auth["headers"]).status_code == 204
    assert client.get(_path(first["media"]["audio"])).status_code == 404
    items = client.get(f"/v1/episodes/{episode['id']}/renders", headers=auth["headers"]).json()["items"]
    assert [i["version"] for i in items] == [2]
    assert client.get(_path(second["media"]["audio"])).content == v2_audio.content
    mp3 = tmp_path / "v2.mp3"
    mp3.write_bytes(v2_audio.content)
    assert decoded_duration(mp3) > 5
