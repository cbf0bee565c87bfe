"""Shared publishing helpers and the WebSub feed ping against a hub stand-in; task metrics hooks."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from aether.agents.publishing import common as publish
from aether.agents.publishing.common import RetryPolicy, caption_html
from aether.analytics.hooks import record_task_completed, record_task_failed
from aether.config import Settings
from aether.db import Database
from aether.errors import PlatformRejected, PlatformUnavailable, ValidationFailed
from aether.run.hooks import HOOKS
from aether.run.wiring import TASKS
from tests.standins.context import task_context
from tests.standins.websub import WebSubHubStandin

FEED = "https://pod.example/shows/aether/feed.xml"


@pytest.fixture
def hub() -> Iterator[WebSubHubStandin]:
    with WebSubHubStandin() as server:
        yield server


async def no_sleep(delay: float) -> None:
    return None


async def test_websub_ping_tells_the_hub_which_feed_changed(
    hub: WebSubHubStandin, adb: Database, settings: Settings
) -> None:
    ctx = task_context(
        adb, settings.model_copy(update={"websub_hub_url": hub.url + "/hub"}), task_type="publish.websub"
    )
    result = await publish.websub_publish(ctx, {"feed_url": FEED, "show_id": 3})
    assert result["pinged"] is True and result["status"] == 204
    assert hub.pings == [[FEED]]
    row = await adb.fetch_one("SELECT metadata FROM analytics WHERE metric_name = 'feed_pings'")
    assert row is not None and row["metadata"]["feed_url"] == FEED and row["metadata"]["show_id"] == 3


async def test_websub_ping_retries_5xx_then_gives_up(hub: WebSubHubStandin, adb: Database, settings: Settings) -> None:
    ctx = task_context(adb, settings.model_copy(update={"websub_hub_url": hub.url, "publish_max_retries": 2}))
    hub.fail_next(503, times=2)
    result = await publish.websub_publish(ctx, {"feed_urls": [FEED, FEED + "?v=2"]}, sleep=no_sleep)
    assert result["pinged"] and hub.pings == [[FEED, FEED + "?v=2"]]
    hub.fail_next(502, times=3)
    with pytest.raises(PlatformUnavailable):
        await publish.websub_publish(ctx, {"feed_url": FEED}, sleep=no_sleep)
    hub.fail_next(400)
    with pytest.raises(PlatformRejected):
        await publish.websub_publish(ctx, {"feed_url": FEED}, sleep=no_sleep)


async def test_websub_is_off_without_a_hub_and_checks_its_input(adb: Database, settings: Settings) -> None:
    ctx = task_context(adb, settings)
    assert (await publish.websub_publish(ctx, {"feed_url": FEED}))["pinged"] is False
    hubbed = task_context(adb, settings.model_copy(update={"websub_hub_url": "http://127.0.0.1:9/hub"}))
    with pytest.raises(ValidationFailed) as err:
        await publish.websub_publish(hubbed, {"feed_url": "not a url"})
    assert err.value.field == "feed_url"
    assert TASKS["publish.websub"].agent == "publish"


async def test_retry_after_header_and_backoff() -> None:
    calls: list[int] = []
    delays: list[float] = []

    async def send() -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "3"})
        if len(calls) == 2:
            return httpx.Response(500)
        return httpx.Response(200, json={"ok": True})

    async def sleep(delay: float) -> None:
        delays.append(delay)

    response = await publish.send_with_retries(send, policy=RetryPolicy(base_delay_s=1), what="x", sleep=sleep)
    assert response.status_code == 200 and delays[0] == 3.0 and 1.0 <= delays[1] <= 2.0


def test_caption_escapes_and_fits_telegrams_limit() -> None:
    caption = caption_html("A <b> & c", "x" * 5000, "https://p.example/e?a=1&b=2", "https://p.example/feed")
    assert caption.startswith("<b>A &lt;b&gt; &amp; c</b>")
    assert 'href="https://p.example/e?a=1&amp;b=2"' in caption
    visible = caption.replace("<b>", "").replace("</b>", "")
    assert len(visible.split("\n\n")[1]) < 1024


async def test_task_hooks_record_durations_and_failures(adb: Database) -> None:
    from datetime import datetime, timedelta

    assert record_task_completed in HOOKS.on_complete and record_task_failed in HOOKS.on_fail
    started = datetime(2025, 6, 1, 10, 0, 0)
    row = {
        "id": 5,
        "task_type": "vfa.voice",
        "agent_name": "vfa",
        "status": "completed",
        "attempts": 1,
        "started_at": started,
        "completed_at": started + timedelta(seconds=42.5),
        "payload": {"show_id": 9},
    }
    async with adb.transaction() as conn:
        await record_task_completed(conn, row, {})
        await record_task_failed(conn, {**row, "status": "pending", "completed_at": None}, "boom", False)
        await record_task_failed(conn, {**row, "status": "failed", "completed_at": None}, "boom", True)
    rows = await adb.fetch_all("SELECT metric_name, value, metadata FROM analytics ORDER BY id")
    assert [(r["metric_name"], r["metadata"]["outcome"]) for r in rows] == [
        ("task_duration_seconds", "completed"),
        ("task_failures", "failed"),
        ("task_failures", "failed"),
        ("task_duration_seconds", "failed"),
    ]
    assert rows[0]["value"] == 42.5 and rows[0]["metadata"]["show_id"] == 9 and rows[0]["metadata"]["agent"] == "vfa"
    assert rows[1]["metadata"]["final"] is False and rows[2]["metadata"]["final"] is True


async def test_task_hooks_record_speech_seconds_and_llm_tokens_unless_cached(adb: Database) -> None:
    from datetime import datetime, timedelta

    started = datetime(2025, 6, 1, 10, 0, 0)
    base = {"attempts": 1, "status": "completed", "started_at": started, "payload": {"show_id": 4}}
    voice = {**base, "id": 7, "task_type": "vfa.synthesize", "agent_name": "vfa"}
    script = {**base, "id": 8, "task_type": "pswa.write_script", "agent_name": "pswa"}
    usage = {"prompt_tokens": 700, "completion_tokens": 300, "total_tokens": 1000, "calls": 2}
    async with adb.transaction() as conn:
        await record_task_completed(
            conn, {**voice, "completed_at": started + timedelta(seconds=30)}, {"duration_s": 281.5}
        )
        await record_task_completed(
            conn, {**voice, "id": 9, "completed_at": started}, {"duration_s": 281.5, "cached": True}
        )
        await record_task_completed(
            conn, {**script, "completed_at": started}, {"token_usage": usage, "model": "m1", "cache_hit": False}
        )
        await record_task_completed(
            conn, {**script, "id": 10, "completed_at": started}, {"token_usage": usage, "cache_hit": True}
        )
    rows = await adb.fetch_all(
        "SELECT metric_name, value, metadata FROM analytics"
        " WHERE metric_name IN ('tts_seconds', 'llm_tokens') ORDER BY id"
    )
    assert [(r["metric_name"], float(r["value"]), r["metadata"]["task_id"]) for r in rows] == [
        ("tts_seconds", 281.5, 7),
        ("llm_tokens", 1000.0, 8),
    ]
    assert rows[1]["metadata"]["model"] == "m1" and rows[1]["metadata"]["prompt_tokens"] == 700
    assert rows[0]["metadata"]["show_id"] == 4 and rows[0]["metadata"]["agent"] == "vfa"
