"""An episode of a show with publishing targets: after the media exist the `release` step publishes the
episode (feed, analytics, mail) and the platform steps post it through the Telegram, YouTube and WebSub
stand-ins, each exactly once, also when a publish task is retried."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from aether.config import Settings
from aether.db import Database
from aether.errors import ValidationFailed
from aether.podcasts import release
from aether.podcasts.episodes import start_episode
from aether.podcasts.models import EpisodeIn
from aether.queue.tasks import TaskContext
from aether.security.credentials import add_credential, utc_now
from aether.storage import ObjectStore
from tests.podcasts.conftest import WorkerThread, make_show
from tests.queue.helpers import until
from tests.standins.context import task_context
from tests.standins.telegram import TelegramStandin
from tests.standins.websub import WebSubHubStandin
from tests.standins.youtube import YouTubeStandin

TOKEN = "123456:TEST-token"
TARGETS = {
    "telegram": {"chat_ids": ["@aether_news", -100200300]},
    "youtube": {"privacy_status": "unlisted", "tags": ["science"]},
    "websub": True,
}


@pytest.fixture
def services() -> Iterator[tuple[TelegramStandin, YouTubeStandin, WebSubHubStandin]]:
    with TelegramStandin(TOKEN) as bot_api, YouTubeStandin() as yt, WebSubHubStandin() as hub:
        yield bot_api, yt, hub


@pytest.fixture
async def publish_settings(
    db: Database, fast_settings: Settings, services: tuple[TelegramStandin, YouTubeStandin, WebSubHubStandin]
) -> Settings:
    bot_api, yt, hub = services
    settings = fast_settings.model_copy(
        update={
            "telegram_api_url": bot_api.url,
            "youtube_api_url": yt.api_url,
            "youtube_upload_url": yt.upload_url,
            "google_token_url": yt.token_url,
            "youtube_chunk_bytes": 256 * 1024,
            "websub_hub_url": f"{hub.url}/hub",
        }
    )
    async with db.transaction() as conn:
        await add_credential(conn, settings, agent=None, platform="telegram", key="bot_token", value=TOKEN)
        await add_credential(
            conn, settings, agent=None, platform="youtube", key="access_token", value="ya29.valid",
            expires_at=utc_now() + timedelta(hours=1),
        )  # fmt: skip
    return settings


async def start(db: Database, settings: Settings, show: dict[str, Any], **body: Any) -> dict[str, Any]:
    async with db.transaction() as conn:
        request = EpisodeIn(topic="Solar sails", title="Solar sails at last", **body)
        return await start_episode(conn, show["user_id"], {}, show["id"], request, settings=settings)


async def workflow_completed(db: Database, workflow_id: Any) -> bool:
    row = await db.fetch_one("SELECT status FROM workflow_instances WHERE workflow_id = %s", (workflow_id,))
    return row is not None and row["status"] == "completed"


async def test_an_episode_is_published_to_every_target_once(
    db: Database,
    publish_settings: Settings,
    services: tuple[TelegramStandin, YouTubeStandin, WebSubHubStandin],
    worker_thread: Callable[[Settings], WorkerThread],
) -> None:
    bot_api, yt, hub = services
    show = await make_show(db, targets=TARGETS, language="en")
    episode = await start(db, publish_settings, show, description="Light pushes the sail.")
    workflow = await db.fetch_one("SELECT * FROM workflow_instances WHERE workflow_id = %s", (episode["workflow_id"],))
    assert workflow is not None
    assert workflow["definition_name"] == "podcast_episode.telegram.websub.youtube"
    assert workflow["params"]["video"] is True  # YouTube needs the video
    assert episode["status"] == "processing"

    worker_thread(publish_settings)
    await until(lambda: workflow_completed(db, episode["workflow_id"]), timeout=60, what="the workflow")

    # the episode went out: published once, media linked, counted once, its subscribers' mail enqueued once
    row = await db.fetch_one("SELECT * FROM episodes WHERE id = %s", (episode["id"],))
    assert row is not None and row["status"] == "published" and row["published_at"] is not None
    assert row["audio_asset_id"] is not None and row["video_asset_id"] is not None
    counted = await db.fetch_all("SELECT metadata FROM analytics WHERE metric_name = 'episodes_published'")
    assert [c["metadata"]["episode_id"] for c in counted] == [str(episode["id"])]
    mails = await db.fetch_all("SELECT payload FROM tasks WHERE task_type = 'mail.notify_episode'")
    assert [m["payload"] for m in mails] == [{"episode_id": str(episode["id"])}]

    page_url = f"https://pod.example/episodes/{episode['id']}"
    feed_url = f"https://pod.example/shows/{show['slug']}/feed.xml"
    steps = await db.fetch_all(
        "SELECT step_name, output_summary FROM task_instances WHERE workflow_id = %s", (episode["workflow_id"],)
    )
    outputs = {s["step_name"]: s["output_summary"] for s in steps}
    mp3 = ObjectStore.from_settings(publish_settings).get_bytes(outputs["voice"]["audio_uri"])
    # Telegram: the voice step's MP3 to both chats, with the page and feed links in the caption
    assert sorted(s.chat_id for s in bot_api.sent) == ["-100200300", "@aether_news"]
    for sent in bot_api.sent:
        assert sent.method == "sendAudio" and sent.fields["title"] == "Solar sails at last"
        assert sent.fields["performer"] == "Ada Tester" and sent.fields["duration"] == "2"
        assert page_url in sent.fields["caption"] and feed_url in sent.fields["caption"]
        assert sent.files["audio"][2] == mp3
    # YouTube: the video and its Short, with the show's privacy, tags and the chapters
    assert len(yt.videos) == 2
    by_title = {v["snippet"]["title"]: v for v in yt.videos.values()}
    main = by_title["Solar sails at last | The Test Show"]  # the title names the show
    assert main["status"]["privacyStatus"] == "unlisted" and main["snippet"]["tags"] == ["science"]
    assert "00:00 Hello" in main["snippet"]["description"] and "00:01 News" in main["snippet"]["description"]
    # the description is the show notes: the summary, then every source with its link
    assert main["snippet"]["description"].startswith(row["notes"]["summary"])
    assert (
        "- Solar sails reach orbit (Orbit News): https://news.example.org/solar-sails" in main["snippet"]["description"]
    )
    # the notes were stored with the episode when it was released
    notes = row["notes"]
    assert notes["sources"] == [
        {"title": "Solar sails reach orbit", "url": "https://news.example.org/solar-sails", "publication": "Orbit News"}
    ]
    assert [(c["time"], c["title"]) for c in notes["chapters"]] == [("0:00", "Hello"), ("0:01", "News")]
    assert 'href="https://news.example.org/solar-sails"' in notes["html"] and notes["summary"] in notes["text"]
    assert any(title.endswith("#Shorts") for title in by_title)
    assert len(yt.thumbnails) == 1
    # WebSub: the show's feed, after the episode was in it
    assert hub.pings == [[feed_url]]

    assert outputs["release"]["published"] is True
    assert set(outputs["telegram"]["messages"]) == {"@aether_news", "-100200300"}
    assert outputs["youtube"]["video_id"] in yt.videos
    assert outputs["websub"]["pinged"] is True
    sent = await db.fetch_one("SELECT count(*) AS n FROM analytics WHERE metric_name = 'messages_sent'")
    assert sent is not None and sent["n"] == 2


async def test_a_retried_publish_step_posts_nothing_twice(
    db: Database,
    publish_settings: Settings,
    services: tuple[TelegramStandin, YouTubeStandin, WebSubHubStandin],
    worker_thread: Callable[[Settings], WorkerThread],
) -> None:
    bot_api, _, _ = services
    show = await make_show(db, targets={"telegram": TARGETS["telegram"], "websub": False})
    # the second chat fails for the whole first attempt (the call and its one retry), then works
    bot_api.fail_chat("-100200300", 503, times=publish_settings.publish_max_retries + 1)
    episode = await start(db, publish_settings, show)
    assert await db.fetch_one(
        "SELECT definition_name FROM workflow_instances WHERE workflow_id = %s", (episode["workflow_id"],)
    ) == {"definition_name": "podcast_episode.telegram"}
    worker_thread(publish_settings)
    await until(lambda: workflow_completed(db, episode["workflow_id"]), timeout=60, what="the workflow")

    task = await db.fetch_one("SELECT attempts FROM tasks WHERE task_type = 'telegram.publish'")
    assert task is not None and task["attempts"] == 2  # the queue retried the publish task
    assert [s.chat_id for s in bot_api.sent] == ["@aether_news", "-100200300"]  # each chat once
    assert await db.fetch_one("SELECT count(*) AS n FROM analytics WHERE metric_name = 'messages_sent'") == {"n": 2}
    assert not await db.fetch_all("SELECT 1 FROM tasks WHERE task_type IN ('youtube.publish', 'publish.websub')")


async def test_a_show_without_targets_runs_the_plain_workflow_with_its_release(
    db: Database, fast_settings: Settings
) -> None:
    show = await make_show(db)
    episode = await start(db, fast_settings, show)
    steps = await db.fetch_all("SELECT step_name FROM task_instances WHERE workflow_id = %s", (episode["workflow_id"],))
    assert {s["step_name"] for s in steps} == {
        "discover", "snippets", "script", "draft", "cover", "music", "voice", "video", "release"
    }  # fmt: skip


def _payload(episode: dict[str, Any], platforms: list[str]) -> dict[str, Any]:
    return {
        "params": dict(episode["params"]),
        "voice": {"audio_uri": "file:///nowhere/episode.mp3", "duration_s": 2.0},
        "video": {"skipped": True},
        "cover": {"cover_uri": "file:///nowhere/cover.png"},
        "platforms": platforms,
    }


async def test_release_publishes_once_and_a_rerun_changes_nothing(db: Database, publish_settings: Settings) -> None:
    show = await make_show(db, targets={"telegram": {"chat_ids": ["@aether_news"]}})
    episode = await start(db, publish_settings, show)

    async def run(payload: dict[str, Any]) -> dict[str, Any]:
        ctx: TaskContext = task_context(
            db, publish_settings, task_type="publish.release", agent="publish",
            workflow_id=str(episode["workflow_id"]),
        )  # fmt: skip
        return await release.release(ctx, payload)

    # YouTube without a rendered video is a clear, permanent error naming the field; nothing went out
    with pytest.raises(ValidationFailed, match="video step rendered none") as caught:
        await run(_payload(episode, ["youtube"]) | {"params": {**episode["params"], "publish": {"youtube": {}}}})
    assert caught.value.field == "video.video_uri"
    assert await db.fetch_one("SELECT status FROM episodes WHERE id = %s", (episode["id"],)) == {"status": "processing"}

    first = await run(_payload(episode, ["telegram", "websub"]))
    assert first["published"] is True
    assert first["telegram"]["chat_ids"] == ["@aether_news"] and first["telegram"]["audio"].endswith("episode.mp3")
    assert first["websub"] == {"feed_url": f"https://pod.example/shows/{show['slug']}/feed.xml", "show_id": show["id"]}
    again = await run(_payload(episode, ["telegram", "websub"]))
    assert again["published"] is False and again["telegram"] == first["telegram"]
    assert await db.fetch_one("SELECT count(*) AS n FROM analytics WHERE metric_name = 'episodes_published'") == {
        "n": 1
    }
    assert await db.fetch_one("SELECT count(*) AS n FROM tasks WHERE task_type = 'mail.notify_episode'") == {"n": 1}


async def test_release_without_an_episode_posts_nothing(db: Database, publish_settings: Settings) -> None:
    """A bare podcast_episode workflow (aether demo) has nothing to publish; posting needs an episode."""
    ctx = task_context(db, publish_settings, task_type="publish.release", agent="publish")
    assert await release.release(ctx, {"params": {"title": "demo"}, "platforms": []}) == {
        "episode_id": None, "published": False, "render_version": None
    }  # fmt: skip
    with pytest.raises(ValidationFailed, match="episode_id is required"):
        await release.release(ctx, {"params": {"title": "demo"}, "platforms": ["telegram"]})
