"""aether.podcasts.episodes: an episode is about what was asked, from its own show's sources, in its show's
name; when nothing fits it fails with one reason a person can read. Two users, two feeds on a real feed
server, the real discovery, snippets and script steps (the media steps are stand-ins)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aether.config import Settings
from aether.db import Database
from aether.errors import ValidationFailed
from aether.orchestrator import retry_workflow
from aether.podcasts import episodes
from aether.podcasts.models import EpisodeIn
from tests.agents.feed_server import FeedServer
from tests.podcasts.conftest import WorkerThread, make_show
from tests.queue.helpers import until


@pytest.fixture
def content_settings(fast_settings: Settings) -> Settings:
    return fast_settings.model_copy(update={"tda_host_interval": 0.0, "tda_fetch_timeout": 2.0})


async def _start(db: Database, show: dict[str, Any], topic: str, **fields: Any) -> dict[str, Any]:
    async with db.transaction() as conn:
        return await episodes.start_episode(
            conn, show["user_id"], {}, show["id"], EpisodeIn(topic=topic, episode_minutes=2, **fields)
        )


async def _finished(db: Database, episode_id: Any) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        row = await db.fetch_one("SELECT status FROM episodes WHERE id = %s", (episode_id,))
        return dict(row) if row and row["status"] in ("published", "failed") else None

    await until(done, timeout=90, what=f"episode {episode_id} finished")
    async with db.connection() as conn:
        row = await episodes.own_episode(conn, await _owner(db, episode_id), str(episode_id))
        return {
            "row": row,
            "progress": await episodes.progress(conn, row),
            "provenance": await episodes.provenance(conn, row),
        }


async def _owner(db: Database, episode_id: Any) -> int:
    row = await db.fetch_one("SELECT user_id FROM episodes WHERE id = %s", (episode_id,))
    assert row is not None
    return int(row["user_id"])


async def _output(db: Database, workflow_id: Any, step: str) -> dict[str, Any]:
    row = await db.fetch_one(
        "SELECT output_summary FROM task_instances WHERE workflow_id = %s AND step_name = %s", (workflow_id, step)
    )
    assert row is not None
    return dict(row["output_summary"])


async def test_each_users_episode_uses_only_its_own_show_and_sources(
    db: Database,
    content_settings: Settings,
    feed_server: FeedServer,
    worker_thread: Callable[..., WorkerThread],
) -> None:
    herald, wire = feed_server.url("/rss2.xml"), feed_server.url("/atom.xml")
    a = await make_show(db, title="Herald Hour", author="Ada", sources=[herald])
    b = await make_show(db, title="Wire Weekly", author="Bo", sources=[wire])
    worker_thread(content_settings, real_content=True)

    first = await _start(db, a, "Mars rover sediments from an ancient lake")
    done_a = await _finished(db, first["id"])
    assert done_a["row"]["status"] == "published", done_a["progress"]["error"]

    second = await _start(db, b, "the tidal energy plant at the breakwater")
    done_b = await _finished(db, second["id"])
    assert done_b["row"]["status"] == "published", done_b["progress"]["error"]
    script = (await _output(db, second["workflow_id"], "script"))["script"]
    assert script["show_title"] == "Wire Weekly"
    spoken = " ".join(line["text"] for seg in script["segments"] for line in seg["lines"])
    assert "Wire Weekly" in spoken and "Aether Daily" not in spoken and "Herald Hour" not in spoken
    cited = {url for seg in script["segments"] for line in seg["lines"] for url in line["sources"]}
    wire_items = {r["url"] for r in await db.fetch_all(
        "SELECT fi.url FROM feed_items fi JOIN sources s ON s.id = fi.source_id WHERE s.url = %s", (wire,)
    )}  # fmt: skip
    assert cited and cited <= wire_items
    stories = done_b["provenance"]["stories"]
    assert stories and {s["publication"] for story in stories for s in story["sources"]} == {"Coastal Wire"}
    assert all(r["score"] >= 0.35 for r in done_b["provenance"]["relevance"])
    assert done_b["provenance"]["sources"] == [wire]

    # B asks about A's story: it reaches B only through A's show, so it is not B's to use
    third = await _start(db, b, "Mars rover sediments from an ancient lake")
    done_c = await _finished(db, third["id"])
    assert done_c["row"]["status"] == "failed"
    assert done_c["progress"]["error"]["step"] == "discover"
    assert done_c["progress"]["error"]["code"] == "no_matching_story"


async def test_an_off_topic_request_fails_with_a_reason_and_retry_rediscovers(
    db: Database,
    content_settings: Settings,
    feed_server: FeedServer,
    worker_thread: Callable[..., WorkerThread],
) -> None:
    show = await make_show(db, sources=[feed_server.url("/rss2.xml"), feed_server.url("/atom.xml")])
    worker_thread(content_settings, real_content=True)
    episode = await _start(db, show, "lattice QCD")
    done = await _finished(db, episode["id"])
    assert done["row"]["status"] == "failed"
    error = done["progress"]["error"]
    assert error == {
        "step": "discover",
        "code": "no_matching_story",
        "message": error["message"],
    }
    assert "no story in this show's 2 sources matches 'lattice QCD'" in error["message"]
    assert "add a source or pass sources with the episode" in error["message"]
    steps = {s["name"]: s["status"] for s in done["progress"]["steps"]}
    assert steps["discover"] == "failed" and steps["snippets"] == "pending"

    # Retry runs discovery again (it failed; it did not "complete" with nothing)
    async with db.connection() as conn:
        retried = await retry_workflow(conn, str(episode["workflow_id"]))
    assert "discover" in retried.reset_steps and "discover" in retried.enqueued
    await until(
        lambda: db.fetch_one(
            "SELECT 1 FROM tasks WHERE workflow_id = %s AND task_type = 'tda.gather' HAVING count(*) = 2"
            " AND bool_and(status = 'failed')",
            (episode["workflow_id"],),
        ),
        timeout=60,
        what="the second discovery failed as well",
    )


async def test_too_little_material_says_so(
    db: Database,
    content_settings: Settings,
    feed_server: FeedServer,
    worker_thread: Callable[..., WorkerThread],
) -> None:
    show = await make_show(db, sources=[feed_server.url("/rss2.xml")])
    worker_thread(content_settings, real_content=True)
    async with db.transaction() as conn:
        episode = await episodes.start_episode(
            conn, show["user_id"], {}, show["id"], EpisodeIn(topic="robot reading buddies", episode_minutes=20)
        )
    done = await _finished(db, episode["id"])
    assert done["row"]["status"] == "published", done["progress"]["error"]
    [warning] = done["progress"]["warnings"]
    assert warning.startswith("material for about ") and warning.endswith(" of the 20 minutes asked")


async def test_a_show_without_sources_is_refused_up_front(db: Database) -> None:
    show = await make_show(db, sources=[])
    with pytest.raises(ValidationFailed) as refused:
        await _start(db, show, "anything at all")
    assert refused.value.field == "sources"
    assert await db.fetch_one("SELECT count(*) AS n FROM episodes") == {"n": 0}
    # sources given with the episode are enough
    given = await _start(db, show, "anything at all", sources=["https://feeds.example.org/given.xml"])
    assert given["id"]
