"""Recording metrics: validation, agent lookup, dimensions; episodes_published recorded by the trigger."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from aether.analytics import record
from aether.db import Connection, Database
from aether.errors import ValidationFailed


def test_a_metric_row_carries_agent_dimensions_and_time(sync_conn: Connection) -> None:
    sync_conn.execute("INSERT INTO agents (name, type) VALUES ('yt-main', 'youtube')")
    with sync_conn.transaction():
        first = record(sync_conn, "videos_created", 1, "youtube", show_id=3, episode_id="e-1")
        second = record(
            sync_conn, "tts_seconds", Decimal("12.5"), "unknown-agent", at=datetime(2025, 5, 1, 12, tzinfo=UTC)
        )
        third = record(
            sync_conn, "llm_tokens", 900, at=datetime(2025, 5, 1, 14, tzinfo=timezone(timedelta(hours=2))), model="m"
        )
    rows = {
        r["id"]: r
        for r in sync_conn.execute(
            "SELECT a.*, g.name AS agent FROM analytics a LEFT JOIN agents g ON g.id = a.agent_id"
        ).fetchall()
    }
    assert rows[first]["agent"] == "yt-main"  # found by type
    assert rows[first]["metadata"] == {"show_id": 3, "episode_id": "e-1", "agent": "youtube"}
    assert rows[second]["agent_id"] is None and rows[second]["metadata"]["agent"] == "unknown-agent"
    assert rows[second]["value"] == Decimal("12.5") and rows[second]["recorded_at"] == datetime(2025, 5, 1, 12)
    assert rows[third]["recorded_at"] == datetime(2025, 5, 1, 12)  # converted to UTC
    assert rows[third]["metadata"] == {"model": "m"}


def test_bad_metrics_are_refused_with_the_field(sync_conn: Connection) -> None:
    cases = [
        (("Bad Name", 1), {}, "metric_name"),
        (("ok", "12"), {}, "value"),
        (("ok", True), {}, "value"),
        (("ok", float("nan")), {}, "value"),
        (("ok", 1), {"show": [1, 2]}, "show"),
    ]
    with sync_conn.transaction():
        for args, dims, field in cases:
            with pytest.raises(ValidationFailed) as err:
                record(sync_conn, *args, **dims)  # type: ignore[arg-type]
            assert err.value.field == field
    assert sync_conn.execute("SELECT count(*) AS n FROM analytics").fetchone() == {"n": 0}


async def test_publishing_an_episode_records_episodes_published_once(db: Database) -> None:
    async with db.transaction() as conn:
        user = await (
            await conn.execute("INSERT INTO users (email, password_hash) VALUES ('a@example.org', 'x') RETURNING id")
        ).fetchone()
        assert user is not None
        show = await (
            await conn.execute(
                "INSERT INTO shows (user_id, slug, guid, title) VALUES (%s, 'demo', %s, 'Demo') RETURNING id",
                (user["id"], uuid.uuid4()),
            )
        ).fetchone()
        assert show is not None
        episode = await (
            await conn.execute(
                "INSERT INTO episodes (show_id, guid, title) VALUES (%s, 'g1', 'One') RETURNING id", (show["id"],)
            )
        ).fetchone()
        assert episode is not None
    for _ in range(2):
        await db.execute(
            "UPDATE episodes SET status = 'published', published_at = '2025-07-04 10:00' WHERE id = %s",
            (episode["id"],),
        )
    rows = await db.fetch_all("SELECT metadata, recorded_at FROM analytics WHERE metric_name = 'episodes_published'")
    assert len(rows) == 1
    assert rows[0]["metadata"] == {"show_id": show["id"], "episode_id": str(episode["id"]), "agent": "orchestrator"}
    assert rows[0]["recorded_at"] == datetime(2025, 7, 4, 10)
