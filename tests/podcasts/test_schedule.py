"""Scheduled shows: the `shows.tick` periodic task starts one episode per due show and cron tick (also
with two ticks at once), on the best-ranked topics no earlier episode covered, and leaves shows without
a schedule alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from aether.config import Settings
from aether.db import Database
from aether.errors import ValidationFailed
from aether.podcasts import shows
from aether.podcasts.episodes import start_episode
from aether.podcasts.schedule import (
    check_interval,
    discover_feeds,
    due_tick,
    episode_request,
    pick_topics,
    run_due,
    run_show,
    shortest_gap,
)
from aether.run.wiring import TASKS
from aether.security.credentials import add_credential
from tests.agents.feed_server import FeedServer, start_feed_server, stop_feed_server
from tests.podcasts.conftest import WorkerThread, make_show
from tests.queue.helpers import until
from tests.standins.telegram import TelegramStandin
from tests.standins.websub import WebSubHubStandin

TOKEN = "123456:TEST-token"

DEAD_FEED = "http://127.0.0.1:9/feed.xml"  # nothing listens on the discard port: discovery fails fast


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    state = start_feed_server()
    yield state
    stop_feed_server(state)


@pytest.fixture
def tick_settings(fast_settings: Settings) -> Settings:
    return fast_settings.model_copy(update={"tda_host_interval": 0.0, "tda_fetch_timeout": 2.0})


async def db_now(db: Database) -> datetime:
    row = await db.fetch_one("SELECT (now() AT TIME ZONE 'UTC') AS now")
    assert row is not None
    return row["now"]  # type: ignore[no-any-return]


async def set_fired(db: Database, show_id: int, at: datetime) -> None:
    await db.execute("UPDATE shows SET schedule_fired_at = %s WHERE id = %s", (at, show_id))


def test_due_tick() -> None:
    base = datetime(2025, 10, 6, 5, 59)
    assert due_tick("0 6 * * *", base, datetime(2025, 10, 6, 5, 59, 59)) is None
    assert due_tick("0 6 * * *", base, datetime(2025, 10, 6, 6, 0, 30)) == datetime(2025, 10, 6, 6, 0)
    # missed ticks fire once: the latest one
    assert due_tick("0 6 * * *", base, datetime(2025, 10, 9, 7, 0)) == datetime(2025, 10, 9, 6, 0)
    assert due_tick("0 6 * * *", None, datetime(2025, 10, 9, 7, 0)) is None
    assert due_tick("not a cron", base, datetime(2025, 10, 9, 7, 0)) is None


def test_shortest_gap_and_the_minimum_interval() -> None:
    start = datetime(2026, 1, 1)
    assert shortest_gap("0 * * * *", start) == timedelta(hours=1)
    assert shortest_gap("0 6 * * 1", start) == timedelta(days=7)
    assert shortest_gap("0 0,23 * * *", start) == timedelta(hours=1)  # 23:00 -> 00:00 crosses the day
    assert shortest_gap("0,59 0,23 1,31 * *", start) == timedelta(minutes=1)  # 31st 23:59 -> 1st 00:00
    check_interval("0 * * * *", 60, now=start)
    check_interval("0 6 * * 1", 60 * 24 * 7, now=start)
    for cron, minutes in (("*/30 * * * *", 60), ("0 */2 * * *", 121), ("0 6 * * 1,2", 60 * 24 + 1)):
        with pytest.raises(ValidationFailed) as caught:
            check_interval(cron, minutes, now=start)
        assert caught.value.field == "schedule" and f"{minutes} minutes" in str(caught.value)
    with pytest.raises(ValidationFailed, match="never fires"):
        check_interval("0 0 31 2 *", 60, now=start)


async def test_two_concurrent_ticks_start_one_episode_per_due_show(
    db: Database, tick_settings: Settings, feeds: FeedServer
) -> None:
    assert TASKS["shows.tick"].agent == "shows"
    periodic = await db.fetch_one("SELECT cron, task_type, agent_name FROM periodic_tasks WHERE name = 'shows.tick'")
    assert periodic == {"cron": "* * * * *", "task_type": "shows.tick", "agent_name": "shows"}

    feed = feeds.url("/rss2.xml")
    due = await make_show(db, schedule="*/5 * * * *", sources=[feed], hosts=["Ada", "Bo"])
    unscheduled = await make_show(db, sources=[feed])
    not_yet = await make_show(db, schedule="0 6 1 1 *", sources=[feed])
    now = await db_now(db)
    await set_fired(db, due["id"], now - timedelta(minutes=11))
    assert unscheduled["schedule_fired_at"] is None and not_yet["schedule_fired_at"] is not None
    later = now + timedelta(seconds=1)

    assert tick_settings.database_url is not None
    async with Database(tick_settings, tick_settings.database_url.get_secret_value()) as other:
        batches = await asyncio.gather(run_due(db, tick_settings, now=later), run_due(other, tick_settings, now=later))
    runs = [r for batch in batches for r in batch]
    assert {r.show_id for r in runs} == {due["id"]}
    assert sorted(r.outcome for r in runs if r.outcome != "taken") == ["started"]

    episodes = await db.fetch_all("SELECT * FROM episodes")
    assert len(episodes) == 1 and episodes[0]["show_id"] == due["id"]
    episode = episodes[0]
    workflow = await db.fetch_one("SELECT * FROM workflow_instances WHERE workflow_id = %s", (episode["workflow_id"],))
    assert workflow is not None and workflow["definition_name"] == "podcast_episode.topics"
    assert workflow["trigger_event_type"] == "schedule" and workflow["status"] == "running"
    picked = workflow["params"]["topic_ids"]
    assert 1 <= len(picked) <= 3 and workflow["params"]["hosts"] == ["Ada", "Bo"]
    titles = {str(r["id"]): r["title"] for r in await db.fetch_all("SELECT id, title FROM topics_snippets")}
    assert episode["title"] == titles[picked[0]] and episode["params"]["topic_ids"] == picked
    snippets = await db.fetch_one(
        "SELECT status, input_params FROM task_instances WHERE workflow_id = %s AND step_name = 'snippets'",
        (episode["workflow_id"],),
    )
    assert snippets is not None and snippets["status"] == "queued" and snippets["input_params"] == {"topic_ids": picked}
    fired = await db.fetch_one("SELECT schedule_fired_at FROM shows WHERE id = %s", (due["id"],))
    assert fired is not None and fired["schedule_fired_at"] == due_tick(
        "*/5 * * * *", now - timedelta(minutes=11), later
    )

    # the same moment again: nothing is due any more
    assert await run_due(db, tick_settings, now=later) == []
    assert len(await db.fetch_all("SELECT id FROM episodes")) == 1


async def test_a_tick_claimed_twice_at_once_starts_one_episode(db: Database, tick_settings: Settings) -> None:
    show = await make_show(db, schedule="* * * * *", sources=[DEAD_FEED])
    topic = await add_topic(db, DEAD_FEED, "Tidal power for Harbor City", 0.7, await db_now(db) - timedelta(hours=1))
    row = await db.fetch_one("SELECT * FROM shows WHERE id = %s", (show["id"],))
    assert row is not None
    tick = (await db_now(db)).replace(second=0, microsecond=0) + timedelta(minutes=1)

    assert tick_settings.database_url is not None
    async with Database(tick_settings, tick_settings.database_url.get_secret_value()) as other:
        runs = await asyncio.gather(run_show(db, tick_settings, row, tick), run_show(other, tick_settings, row, tick))
    assert sorted(r.outcome for r in runs) == ["started", "taken"]
    assert [r.topic_ids for r in runs if r.outcome == "started"] == [[topic]]
    assert await db.fetch_one("SELECT count(*) AS n FROM episodes") == {"n": 1}
    assert await db.fetch_one("SELECT count(*) AS n FROM workflow_instances") == {"n": 1}


async def add_topic(db: Database, feed: str, title: str, score: float, created: datetime) -> str:
    source = await db.fetch_one(
        "INSERT INTO sources (url) VALUES (%s) ON CONFLICT (url) DO UPDATE SET url = EXCLUDED.url RETURNING id",
        (feed,),
    )
    topic = await db.fetch_one(
        "INSERT INTO topics_snippets (type, title, summary, relevance_score, created_at, source_ids)"
        " VALUES ('topic', %s, %s, %s, %s, ARRAY[%s]) RETURNING id",
        (title, f"About {title}.", score, created, source["id"] if source else None),
    )
    assert source is not None and topic is not None
    await db.execute(
        "INSERT INTO feed_items (source_id, topic_id, url, title, text, text_hash) VALUES (%s, %s, %s, %s, '', %s)",
        (source["id"], topic["id"], f"{feed}#{uuid.uuid4().hex}", title, uuid.uuid4().hex * 2),
    )
    return str(topic["id"])


async def add_episode(db: Database, show: dict[str, Any], created: datetime, **params: Any) -> str:
    row = await db.fetch_one(
        "INSERT INTO episodes (show_id, user_id, guid, title, params, created_at)"
        " VALUES (%s, %s, %s, 'Earlier', %s, %s) RETURNING id",
        (show["id"], show["user_id"], f"test-{uuid.uuid4()}", Jsonb(params), created),
    )
    assert row is not None
    return str(row["id"])


async def test_the_tick_picks_the_best_topics_no_episode_covered(db: Database, tick_settings: Settings) -> None:
    show = await make_show(db, schedule="0 * * * *", sources=[DEAD_FEED])
    now = await db_now(db)
    covered = await add_topic(db, DEAD_FEED, "Covered by a scheduled episode", 0.95, now - timedelta(hours=3))
    written_up = await add_topic(db, DEAD_FEED, "Written up by an episode's snippets", 0.9, now - timedelta(hours=3))
    best = await add_topic(db, DEAD_FEED, "Robot reading buddies", 0.8, now - timedelta(hours=2))
    second = await add_topic(db, DEAD_FEED, "Tidal energy plant approved", 0.6, now - timedelta(hours=2))
    third = await add_topic(db, DEAD_FEED, "Harbor bridge repairs", 0.4, now - timedelta(hours=2))
    fourth = await add_topic(db, DEAD_FEED, "A fourth topic", 0.2, now - timedelta(hours=2))
    await add_topic(db, DEAD_FEED, "Older than the last episode", 0.99, now - timedelta(days=2))
    await add_topic(
        db, "https://elsewhere.example/feed.xml", "From another show's feed", 0.99, now - timedelta(hours=1)
    )
    await add_episode(db, show, now - timedelta(hours=4), topic_ids=[covered])
    workflow = await db.fetch_one(
        "INSERT INTO workflow_instances (definition_name, status) VALUES ('podcast_episode', 'completed')"
        " RETURNING workflow_id"
    )
    assert workflow is not None
    await db.execute(
        "INSERT INTO task_instances (workflow_id, step_name, agent_name, task_type, status, output_summary)"
        " VALUES (%s, 'snippets', 'sca', 'sca.snippets', 'completed', %s)",
        (workflow["workflow_id"], Jsonb({"snippets": [{"topic_id": written_up, "headline": "x"}]})),
    )
    earlier = await add_episode(db, show, now - timedelta(hours=5))
    await db.execute("UPDATE episodes SET workflow_id = %s WHERE id = %s", (workflow["workflow_id"], earlier))
    await set_fired(db, show["id"], now - timedelta(hours=1, minutes=1))

    (run,) = await run_due(db, tick_settings, now=now)
    assert run.outcome == "started" and run.topic_ids == [best, second, third]
    episode = await db.fetch_one("SELECT title, description FROM episodes WHERE id = %s", (run.episode_id,))
    assert episode is not None and episode["title"] == "Robot reading buddies"
    assert "Tidal energy plant approved" in episode["description"]

    # the next hour: the one topic left was discovered before that episode, so there is nothing new
    await set_fired(db, show["id"], now - timedelta(minutes=1))
    (again,) = await run_due(db, tick_settings, now=now + timedelta(hours=1))
    assert again.outcome == "no_topics" and fourth not in again.topic_ids
    assert await db.fetch_one("SELECT count(*) AS n FROM episodes WHERE show_id = %s", (show["id"],)) == {"n": 3}


async def test_shows_without_a_schedule_are_left_alone(db: Database, tick_settings: Settings) -> None:
    await make_show(db, sources=[DEAD_FEED])
    await add_topic(db, DEAD_FEED, "Nobody asked for this", 0.9, await db_now(db))
    assert await run_due(db, tick_settings, now=await db_now(db) + timedelta(days=7)) == []
    assert await db.fetch_one("SELECT count(*) AS n FROM episodes") == {"n": 0}


@pytest.mark.slow
async def test_a_scheduled_episode_is_made_and_published_end_to_end(
    db: Database, tick_settings: Settings, feeds: FeedServer, worker_thread: Callable[..., WorkerThread]
) -> None:
    """The real agents make a one-minute episode on the picked topics; Telegram and the hub get it."""
    with TelegramStandin(TOKEN) as bot_api, WebSubHubStandin() as hub:
        settings = tick_settings.model_copy(
            update={"telegram_api_url": bot_api.url, "websub_hub_url": hub.url, "worker_cpu_pool": "thread"}
        )

        async with db.transaction() as conn:
            await add_credential(conn, settings, agent=None, platform="telegram", key="bot_token", value=TOKEN)
        show = await make_show(
            db, schedule="* * * * *", sources=[feeds.url("/rss2.xml")], targets={"telegram": {"chat_ids": ["@news"]}}
        )
        await set_fired(db, show["id"], await db_now(db) - timedelta(minutes=2))
        # what the tick does, with a one-minute episode (a schedule's episodes take the default length)
        await discover_feeds(db, settings, [feeds.url("/rss2.xml")], None)
        async with db.transaction() as conn:
            topics = await pick_topics(conn, show["id"], [feeds.url("/rss2.xml")])
            body = episode_request(topics).model_copy(update={"episode_minutes": 1})
            episode = await start_episode(
                conn, show["user_id"], {}, show["id"], body, settings=settings,
                topic_ids=[t["id"] for t in topics], trigger="schedule",
            )  # fmt: skip
        worker_thread(settings, real_media=True)

        async def finished() -> bool:
            row = await db.fetch_one(
                "SELECT status FROM workflow_instances WHERE workflow_id = %s", (episode["workflow_id"],)
            )
            assert row is not None and row["status"] != "failed", row
            return bool(row["status"] == "completed")

        await until(finished, timeout=600, interval=0.5, what="the scheduled episode")
        row = await db.fetch_one("SELECT status, audio_asset_id FROM episodes WHERE id = %s", (episode["id"],))
        assert row is not None and row["status"] == "published" and row["audio_asset_id"] is not None
        (sent,) = bot_api.sent
        assert sent.method == "sendAudio" and sent.chat_id == "@news" and int(sent.fields["duration"]) > 10
        assert sent.files["audio"][2][:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
        assert hub.pings == [[f"https://pod.example/shows/{show['slug']}/feed.xml"]]


async def test_a_scheduled_show_reads_only_its_own_sources(db: Database, tick_settings: Settings) -> None:
    """Another user's feed holds a fresh topic; a scheduled show never picks it, and without sources of its
    own it cannot even be scheduled."""
    mine, theirs = "https://feeds.example.org/mine.xml", "https://feeds.example.org/theirs.xml"
    show = await make_show(db, schedule="* * * * *", sources=[mine])
    await add_topic(db, theirs, "A private story of another user", 0.9, await db_now(db) - timedelta(hours=1))
    async with db.connection() as conn:
        assert await pick_topics(conn, show["id"], [mine]) == []
        assert await pick_topics(conn, show["id"], []) == []
    own = await add_topic(db, mine, "A story of my own feed", 0.5, await db_now(db) - timedelta(hours=1))
    async with db.connection() as conn:
        assert [t["id"] for t in await pick_topics(conn, show["id"], [mine])] == [own]

    async with db.transaction() as conn:
        with pytest.raises(ValidationFailed) as refused:
            await shows.create_show(
                conn,
                show["user_id"],
                {"title": "Unfed", "schedule": "0 6 * * *", "sources": []},
                base_url="https://pod.example",
                explicit_slug=None,
                settings=tick_settings,
            )
    assert refused.value.field == "schedule"
