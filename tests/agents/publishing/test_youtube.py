"""The YouTube agent against a Data API v3 stand-in: resumable uploads (chunks, 308, an upload cut off
half-way and resumed), metadata, thumbnails, Shorts, OAuth refresh, quota errors, exactly-once uploads."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from aether.agents.publishing import youtube
from aether.agents.publishing.common import RetryPolicy
from aether.config import Settings
from aether.db import Database
from aether.errors import AgentDisabled, PlatformUnavailable, ValidationFailed
from aether.queue.tasks import TaskContext
from aether.run.wiring import TASKS
from aether.security.credentials import add_credential, find_secret, utc_now
from tests.standins.context import task_context, write_cover
from tests.standins.youtube import YouTubeStandin

CHUNK = 256 * 1024
FAST = RetryPolicy(max_retries=3, base_delay_s=0.001, max_delay_s=0.01)


@pytest.fixture
def yt() -> AsyncIterator[YouTubeStandin]:
    with YouTubeStandin() as server:
        yield server


@pytest.fixture
def local_settings(settings: Settings, yt: YouTubeStandin) -> Settings:
    return settings.model_copy(
        update={
            "youtube_api_url": yt.api_url,
            "youtube_upload_url": yt.upload_url,
            "google_token_url": yt.token_url,
            "youtube_chunk_bytes": CHUNK,
        }
    )


async def store(adb: Database, settings: Settings, key: str, value: str, expires_in_s: float | None = None) -> None:
    expires = utc_now() + timedelta(seconds=expires_in_s) if expires_in_s is not None else None
    async with adb.transaction() as conn:
        await add_credential(
            conn, settings, agent=None, platform="youtube", key=key, value=value, expires_at=expires, replace=True
        )


@pytest.fixture
async def ctx(adb: Database, local_settings: Settings) -> TaskContext:
    await store(adb, local_settings, "access_token", "ya29.valid", expires_in_s=3600)
    return task_context(adb, local_settings, task_id=77, task_type="youtube.publish", agent="youtube")


@pytest.fixture
def episode(tmp_path: Path) -> dict[str, object]:
    video = tmp_path / "episode.mp4"
    video.write_bytes(os.urandom(3 * CHUNK + 12345))
    return {
        "video": str(video),
        "cover": str(write_cover(tmp_path / "cover.png", size=640)),
        "title": "Quantum computing <explained>",
        "description": "Qubits, gates and why error correction matters.",
        "chapters": [
            {"start": 0, "title": "Intro"},
            {"start": 75, "title": "Qubits"},
            {"start": 3725, "title": "Outro"},
        ],
        "tags": ["quantum", "podcast"],
        "category_id": "28",
        "privacy_status": "unlisted",
        "made_for_kids": False,
        "language": "en",
        "page_url": "https://pod.example/shows/aether/episodes/3",
        "feed_url": "https://pod.example/shows/aether/feed.xml",
        "show_id": 7,
        "episode_id": "ep-3",
    }


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


async def test_upload_in_chunks_with_metadata_and_thumbnail(
    ctx: TaskContext, yt: YouTubeStandin, episode: dict[str, object], adb: Database
) -> None:
    result = await youtube.publish(ctx, episode, policy=FAST)

    video_id = result["video_id"]
    assert yt.uploads[video_id] == Path(str(episode["video"])).read_bytes()
    (session,) = yt.sessions.values()
    assert session.chunk_starts == [0, CHUNK, 2 * CHUNK, 3 * CHUNK]
    assert session.size == Path(str(episode["video"])).stat().st_size and session.content_type == "video/mp4"
    snippet, status = yt.videos[video_id]["snippet"], yt.videos[video_id]["status"]
    assert snippet["title"] == "Quantum computing ‹explained›"
    assert snippet["tags"] == ["quantum", "podcast"] and snippet["categoryId"] == "28"
    assert snippet["defaultLanguage"] == "en" and snippet["defaultAudioLanguage"] == "en"
    description = snippet["description"]
    assert description.startswith("Qubits, gates")
    assert "00:00 Intro\n01:15 Qubits\n1:02:05 Outro" in description
    assert "Episode: https://pod.example/shows/aether/episodes/3" in description
    assert "Podcast feed: https://pod.example/shows/aether/feed.xml" in description
    assert status["privacyStatus"] == "unlisted" and status["selfDeclaredMadeForKids"] is False
    content_type, image = yt.thumbnails[video_id]
    assert content_type == "image/png" and image == Path(str(episode["cover"])).read_bytes()
    assert result["thumbnail_url"].endswith(f"/{video_id}/default.jpg")
    assert result["url"] == f"https://www.youtube.com/watch?v={video_id}"
    row = await adb.fetch_one("SELECT metadata FROM analytics WHERE metric_name = 'videos_created'")
    assert row is not None and row["metadata"]["video_id"] == video_id and row["metadata"]["show_id"] == 7


async def test_an_upload_cut_off_half_way_resumes_from_the_acknowledged_byte(
    ctx: TaskContext, yt: YouTubeStandin, episode: dict[str, object]
) -> None:
    cut = CHUNK + 100_000  # inside the second chunk
    yt.cut_at(cut)
    sleeps = Sleeps()
    result = await youtube.publish(ctx, episode, policy=FAST, sleep=sleeps)

    data = Path(str(episode["video"])).read_bytes()
    assert yt.uploads[result["video_id"]] == data
    (session,) = yt.sessions.values()
    assert session.chunk_starts == [0, CHUNK, cut, cut + CHUNK]
    assert f"bytes */{len(data)}" in yt.requests  # the status query after the interruption
    assert len(sleeps.delays) == 1


async def test_a_task_that_died_mid_upload_resumes_the_same_session_when_retried(
    ctx: TaskContext, yt: YouTubeStandin, episode: dict[str, object]
) -> None:
    cut = 2 * CHUNK + 5
    yt.cut_at(cut)
    with pytest.raises(PlatformUnavailable):
        await youtube.publish(ctx, episode, policy=RetryPolicy(max_retries=0), sleep=Sleeps())
    assert yt.videos == {}

    result = await youtube.publish(ctx, episode, policy=FAST)  # the queue's retry of the same task
    (session,) = yt.sessions.values()  # no second session, no second video
    assert session.chunk_starts == [0, CHUNK, 2 * CHUNK, cut, cut + CHUNK]
    assert list(yt.videos) == [result["video_id"]]
    assert yt.uploads[result["video_id"]] == Path(str(episode["video"])).read_bytes()


async def test_a_retried_task_uploads_nothing_twice(
    ctx: TaskContext, yt: YouTubeStandin, episode: dict[str, object], adb: Database
) -> None:
    first = await youtube.publish(ctx, episode, policy=FAST)
    again = await youtube.publish(ctx, episode, policy=FAST)
    assert again == first
    assert len(yt.sessions) == 1 and len(yt.videos) == 1 and len(yt.thumbnails) == 1
    row = await adb.fetch_one("SELECT count(*) AS n FROM analytics WHERE metric_name = 'videos_created'")
    assert row is not None and row["n"] == 1


async def test_an_expired_session_starts_a_new_upload(
    ctx: TaskContext, yt: YouTubeStandin, episode: dict[str, object]
) -> None:
    yt.cut_at(CHUNK + 1)
    with pytest.raises(PlatformUnavailable):
        await youtube.publish(ctx, episode, policy=RetryPolicy(max_retries=0), sleep=Sleeps())
    yt.expire_sessions()
    result = await youtube.publish(ctx, episode, policy=FAST)
    assert yt.uploads[result["video_id"]] == Path(str(episode["video"])).read_bytes()


async def test_the_vertical_clip_uploads_as_a_short(
    ctx: TaskContext, yt: YouTubeStandin, episode: dict[str, object], tmp_path: Path
) -> None:
    clip = tmp_path / "short.mp4"
    clip.write_bytes(os.urandom(CHUNK // 2))
    result = await youtube.publish(ctx, {**episode, "short": str(clip)}, policy=FAST)
    short = yt.videos[result["short_video_id"]]
    assert short["snippet"]["title"].endswith(" #Shorts")
    assert "#Shorts" in short["snippet"]["description"] and "Chapters" not in short["snippet"]["description"]
    assert yt.uploads[result["short_video_id"]] == clip.read_bytes()
    assert result["short_url"] == f"https://www.youtube.com/shorts/{result['short_video_id']}"
    assert result["short_video_id"] not in yt.thumbnails


async def test_the_access_token_is_refreshed_ahead_of_expiry_and_stored(
    ctx: TaskContext, yt: YouTubeStandin, episode: dict[str, object], adb: Database, local_settings: Settings
) -> None:
    yt.valid_tokens.clear()  # the stored token is about to expire and the API no longer takes it
    await store(adb, local_settings, "access_token", "ya29.old", expires_in_s=30)
    await store(adb, local_settings, "refresh_token", yt.refresh_token)
    await store(adb, local_settings, "client_id", yt.client[0])
    await store(adb, local_settings, "client_secret", yt.client[1])

    result = await youtube.publish(ctx, episode, policy=FAST)

    assert result["video_id"] in yt.videos
    assert len(yt.token_requests) == 1
    assert yt.token_requests[0]["grant_type"] == "refresh_token"
    assert yt.token_requests[0]["refresh_token"] == yt.refresh_token
    stored = await find_secret(adb, local_settings, agent="youtube", platform="youtube", key="access_token")
    assert stored in yt.valid_tokens and stored != "ya29.old"
    await youtube.publish(ctx, {**episode, "episode_id": "ep-4"}, policy=FAST)
    assert len(yt.token_requests) == 1  # the stored token is used until it nears expiry again


async def test_a_revoked_refresh_token_marks_the_agent_error(
    ctx: TaskContext, yt: YouTubeStandin, episode: dict[str, object], adb: Database, local_settings: Settings
) -> None:
    await store(adb, local_settings, "access_token", "ya29.old", expires_in_s=-10)
    await store(adb, local_settings, "refresh_token", "1//revoked")
    await store(adb, local_settings, "client_id", yt.client[0])
    await store(adb, local_settings, "client_secret", yt.client[1])
    with pytest.raises(AgentDisabled):
        await youtube.publish(ctx, episode, policy=FAST)
    row = await adb.fetch_one("SELECT status, status_reason FROM agents WHERE name = 'youtube'")
    assert row is not None and row["status"] == "error" and "invalid_grant" in row["status_reason"]
    assert yt.sessions == {}


async def test_quota_errors_mark_the_agent_error(
    ctx: TaskContext, yt: YouTubeStandin, episode: dict[str, object], adb: Database
) -> None:
    yt.quota_exceeded = True
    with pytest.raises(AgentDisabled) as err:
        await youtube.publish(ctx, episode, policy=FAST)
    assert "quotaExceeded" in str(err.value)
    row = await adb.fetch_one("SELECT status, status_reason FROM agents WHERE name = 'youtube'")
    assert row is not None and row["status"] == "error" and "quotaExceeded" in row["status_reason"]


async def test_bad_metadata_names_the_field_and_uploads_nothing(
    ctx: TaskContext, yt: YouTubeStandin, episode: dict[str, object]
) -> None:
    cases = [
        ({"privacy_status": "everyone"}, "privacy_status"),
        ({"made_for_kids": "no"}, "made_for_kids"),
        ({"category_id": "music"}, "category_id"),
        ({"language": "english!"}, "language"),
        ({"tags": ["x" * 501]}, "tags"),
        ({"chapters": [{"start": 10, "title": "a"}, {"start": 5, "title": "b"}]}, "chapters[1].start"),
        ({"video": "/nope.mp4"}, "video"),
        ({"title": " "}, "title"),
    ]
    for change, field in cases:
        with pytest.raises(ValidationFailed) as err:
            await youtube.publish(ctx, {**episode, **change}, policy=FAST)
        assert err.value.field == field, change
    assert yt.sessions == {} and yt.requests == []


def test_chapter_timestamps_start_at_zero() -> None:
    assert youtube.chapter_lines([{"start": 12, "title": "Topic"}]) == ["00:00 Intro", "00:12 Topic"]
    assert youtube.timestamp(3599) == "59:59" and youtube.timestamp(3600) == "1:00:00"


def test_the_handler_is_registered() -> None:
    assert TASKS["youtube.publish"].agent == "youtube"
