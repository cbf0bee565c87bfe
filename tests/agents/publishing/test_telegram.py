"""The Telegram agent against a Bot API stand-in: sendAudio multipart, captions, retries, revoked tokens,
exactly-once posting."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from aether.agents.publishing import telegram
from aether.agents.publishing.common import RetryPolicy
from aether.config import Settings
from aether.db import Database
from aether.errors import AgentDisabled, PlatformUnavailable, ValidationFailed
from aether.queue.tasks import TaskContext
from aether.run.wiring import TASKS
from tests.standins.context import task_context, write_cover, write_mp3
from tests.standins.telegram import TelegramStandin

TOKEN = "123456:TEST-token"
FAST = RetryPolicy(max_retries=3, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
def bot_api() -> AsyncIterator[TelegramStandin]:
    with TelegramStandin(TOKEN) as server:
        yield server


@pytest.fixture
def ctx(adb: Database, settings: Settings, bot_api: TelegramStandin) -> TaskContext:
    local = settings.model_copy(update={"telegram_api_url": bot_api.url})
    return task_context(adb, local, task_id=41, task_type="telegram.publish", agent="telegram")


@pytest.fixture
def episode(tmp_path: Path) -> dict[str, object]:
    return {
        "chat_ids": ["@aether_news"],
        "title": "Episode 3: <Quantum> & friends",
        "performer": "The Aether Show",
        "description": "Qubits, explained.",
        "audio": str(write_mp3(tmp_path / "ep3.mp3", seconds=3)),
        "cover": str(write_cover(tmp_path / "cover.png")),
        "page_url": "https://pod.example/shows/aether/episodes/3",
        "feed_url": "https://pod.example/shows/aether/feed.xml",
        "show_id": 7,
        "episode_id": "ep-3",
    }


async def token() -> str:
    return TOKEN


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


async def test_send_audio_carries_the_mp3_metadata_thumbnail_and_caption(
    ctx: TaskContext, bot_api: TelegramStandin, episode: dict[str, object], adb: Database
) -> None:
    result = await telegram.publish(ctx, episode, token=token, policy=FAST)

    assert len(bot_api.sent) == 1
    sent = bot_api.sent[0]
    assert sent.method == "sendAudio" and sent.chat_id == "@aether_news"
    assert result == {"messages": {"@aether_news": sent.message_id}}
    assert sent.fields["title"] == "Episode 3: <Quantum> & friends"
    assert sent.fields["performer"] == "The Aether Show"
    assert sent.fields["duration"] == "3"
    assert sent.fields["parse_mode"] == "HTML"
    caption = sent.fields["caption"]
    assert "<b>Episode 3: &lt;Quantum&gt; &amp; friends</b>" in caption
    assert '<a href="https://pod.example/shows/aether/episodes/3">' in caption
    assert '<a href="https://pod.example/shows/aether/feed.xml">' in caption
    filename, mime, audio = sent.files["audio"]
    assert filename == "ep3.mp3" and mime == "audio/mpeg"
    assert audio == Path(str(episode["audio"])).read_bytes()
    _, thumb_type, thumb = sent.files["thumbnail"]
    assert thumb_type == "image/jpeg" and len(thumb) <= 200 * 1024
    with Image.open(io.BytesIO(thumb)) as image:
        assert image.format == "JPEG" and max(image.size) <= 320

    row = await adb.fetch_one("SELECT value, metadata FROM analytics WHERE metric_name = 'messages_sent'")
    assert row is not None and row["value"] == 1
    assert row["metadata"]["chat_id"] == "@aether_news" and row["metadata"]["show_id"] == 7
    assert row["metadata"]["message_id"] == sent.message_id


async def test_a_retried_task_posts_nothing_twice(
    ctx: TaskContext, bot_api: TelegramStandin, episode: dict[str, object], adb: Database
) -> None:
    episode["chat_ids"] = ["@one", "-100200300"]
    bot_api.fail_chat("-100200300", 503, times=FAST.max_retries + 1)
    with pytest.raises(PlatformUnavailable):
        await telegram.publish(ctx, episode, token=token, policy=FAST, sleep=Sleeps())
    assert [s.chat_id for s in bot_api.sent] == ["@one"]

    # the queue retries the task: the first chat is not posted again, the second gets its post
    result = await telegram.publish(ctx, episode, token=token, policy=FAST, sleep=Sleeps())
    assert [s.chat_id for s in bot_api.sent] == ["@one", "-100200300"]
    assert result == {"messages": {"@one": bot_api.sent[0].message_id, "-100200300": bot_api.sent[1].message_id}}
    # a rescued duplicate of a finished task replays the recorded message ids
    assert await telegram.publish(ctx, episode, token=token, policy=FAST, sleep=Sleeps()) == result
    assert len(bot_api.sent) == 2
    count = await adb.fetch_one("SELECT count(*) AS n FROM analytics WHERE metric_name = 'messages_sent'")
    assert count is not None and count["n"] == 2


async def test_429_waits_the_retry_after_the_api_asks_for(
    ctx: TaskContext, bot_api: TelegramStandin, episode: dict[str, object]
) -> None:
    bot_api.fail_next(429, times=2, retry_after=7)
    sleeps = Sleeps()
    await telegram.publish(ctx, episode, token=token, policy=FAST, sleep=sleeps)
    assert sleeps.delays == [7.0, 7.0]
    assert bot_api.calls == ["sendAudio"] * 3 and len(bot_api.sent) == 1


async def test_5xx_is_retried_with_growing_backoff(
    ctx: TaskContext, bot_api: TelegramStandin, episode: dict[str, object]
) -> None:
    bot_api.fail_next(502, times=3)
    sleeps = Sleeps()
    policy = RetryPolicy(max_retries=3, base_delay_s=1.0, max_delay_s=100)
    await telegram.publish(ctx, {**episode, "text": "New episode out!"}, token=token, policy=policy, sleep=sleeps)
    assert len(sleeps.delays) == 3
    assert 0.5 <= sleeps.delays[0] <= 1.0 and 1.0 <= sleeps.delays[1] <= 2.0 and 2.0 <= sleeps.delays[2] <= 4.0
    assert [s.method for s in bot_api.sent] == ["sendMessage"]
    assert bot_api.sent[0].fields["text"] == "New episode out!"


@pytest.mark.parametrize("status", [401, 403])
async def test_a_rejected_token_marks_the_agent_error(
    ctx: TaskContext, bot_api: TelegramStandin, episode: dict[str, object], adb: Database, status: int
) -> None:
    await adb.execute("INSERT INTO agents (name, type, status) VALUES ('telegram', 'telegram', 'active')")
    if status == 401:
        bot_api.revoke()
    else:
        bot_api.fail_next(403)
    with pytest.raises(AgentDisabled) as err:
        await telegram.publish(ctx, episode, token=token, policy=FAST, sleep=Sleeps())
    assert TOKEN not in str(err.value)
    row = await adb.fetch_one("SELECT status, status_reason FROM agents WHERE name = 'telegram'")
    assert row is not None and row["status"] == "error"
    assert str(status) in row["status_reason"] and TOKEN not in row["status_reason"]
    assert bot_api.sent == []


async def test_bad_input_names_the_field_and_sends_nothing(
    ctx: TaskContext, bot_api: TelegramStandin, episode: dict[str, object]
) -> None:
    cases = [
        ({"title": ""}, "title"),
        ({"audio": "/nonexistent/ep.mp3"}, "audio"),
        ({"chat_ids": []}, "chat_ids"),
        ({"chat_ids": ["not a chat"]}, "chat_ids"),
        ({"page_url": "ftp://x"}, "page_url"),
        ({"duration_seconds": -1}, "duration_seconds"),
    ]
    for change, field in cases:
        with pytest.raises(ValidationFailed) as err:
            await telegram.publish(ctx, {**episode, **change}, token=token, policy=FAST)
        assert err.value.field == field
    assert bot_api.calls == []


async def test_chats_come_from_the_agent_config_when_the_task_names_none(
    ctx: TaskContext, bot_api: TelegramStandin, episode: dict[str, object], adb: Database
) -> None:
    await adb.execute(
        "INSERT INTO agents (name, type, status, config) "
        """VALUES ('telegram', 'telegram', 'active', '{"chat_ids": ["@cfg"]}')"""
    )
    episode.pop("chat_ids")
    await telegram.publish(ctx, episode, token=token, policy=FAST)
    assert [s.chat_id for s in bot_api.sent] == ["@cfg"]


def test_the_handler_is_registered() -> None:
    spec = TASKS["telegram.publish"]
    assert spec.agent == "telegram" and spec.fn is telegram.publish_handler
