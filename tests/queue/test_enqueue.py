from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from aether.db.pool import Connection, Database
from aether.errors import ValidationFailed
from aether.queue import NewTask, enqueue, enqueue_sync


async def test_enqueue_many_in_one_call_creates_agents(adb: Database) -> None:
    async with adb.transaction() as conn:
        ids = await enqueue(
            conn,
            [
                NewTask("tda.discover", "tda", {"n": 1}),
                NewTask("sca.write", "sca", {"n": 2}, priority=5),
                NewTask("tda.discover", "tda", {"n": 3}),
            ],
        )
    assert len(ids) == 3 and ids == sorted(ids)
    rows = await adb.fetch_all(
        "SELECT t.*, a.name, a.type, a.status AS agent_status FROM tasks t "
        "JOIN agents a ON a.id = t.agent_id ORDER BY t.id"
    )
    assert [r["payload"]["n"] for r in rows] == [1, 2, 3]
    assert [r["name"] for r in rows] == ["tda", "sca", "tda"]
    assert {r["agent_status"] for r in rows} == {"active"}
    assert {r["type"] for r in rows} == {"tda", "sca"}
    assert rows[1]["priority"] == 5 and rows[0]["status"] == "pending" and rows[0]["attempts"] == 0
    assert all(r["scheduled_at"] is not None for r in rows)
    agents = await adb.fetch_all("SELECT name FROM agents ORDER BY name")
    assert [a["name"] for a in agents] == ["sca", "tda"]


async def test_dedupe_key_returns_live_task(adb: Database) -> None:
    async with adb.transaction() as conn:
        first = await enqueue(
            conn, [NewTask("t.a", "ag", {}, dedupe_key="k1"), NewTask("t.a", "ag", {}, dedupe_key="k1")]
        )
    assert first[0] == first[1]
    async with adb.transaction() as conn:
        again = await enqueue(conn, NewTask("t.a", "ag", {"other": True}, dedupe_key="k1"))
    assert again == [first[0]]
    await adb.execute("UPDATE tasks SET status = 'completed' WHERE id = %s", (first[0],))
    async with adb.transaction() as conn:
        fresh = await enqueue(conn, NewTask("t.a", "ag", {}, dedupe_key="k1"))
    assert fresh[0] != first[0]
    count = await adb.fetch_one("SELECT count(*) AS n FROM tasks")
    assert count is not None and count["n"] == 2


async def test_concurrent_enqueues_of_a_new_agent_and_dedupe_key(adb: Database) -> None:
    async def one() -> list[int]:
        async with adb.transaction() as conn:
            return await enqueue(
                conn, [NewTask("x.y", "brand-new", {}, dedupe_key="same"), NewTask("x.z", "brand-new", {})]
            )

    results = await asyncio.gather(*(one() for _ in range(4)))
    assert len({r[0] for r in results}) == 1
    assert len({r[1] for r in results}) == 4
    agents = await adb.fetch_all("SELECT id FROM agents WHERE name = 'brand-new'")
    assert len(agents) == 1


def test_enqueue_sync_in_callers_transaction_rolls_back(sync_conn: Connection) -> None:
    with sync_conn.transaction():
        ids = enqueue_sync(
            sync_conn, NewTask("a.b", "a", {"x": 1}, scheduled_at=datetime.now(UTC) + timedelta(hours=1))
        )
    assert len(ids) == 1
    row = sync_conn.execute("SELECT scheduled_at FROM tasks WHERE id = %s", (ids[0],)).fetchone()
    assert row is not None and row["scheduled_at"] > datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=59)
    with pytest.raises(RuntimeError), sync_conn.transaction():
        enqueue_sync(sync_conn, NewTask("a.b", "a", {}))
        raise RuntimeError("caller fails")
    count = sync_conn.execute("SELECT count(*) AS n FROM tasks").fetchone()
    assert count is not None and count["n"] == 1


def test_workflow_and_step_are_stored(sync_conn: Connection) -> None:
    workflow_id = uuid.uuid4()
    sync_conn.execute("INSERT INTO workflow_instances (workflow_id, definition_name) VALUES (%s, 'wf')", (workflow_id,))
    with sync_conn.transaction():
        (task_id,) = enqueue_sync(sync_conn, NewTask("a.b", "a", {}, workflow_id=workflow_id, step_name="script"))
    row = sync_conn.execute("SELECT workflow_id, step_name FROM tasks WHERE id = %s", (task_id,)).fetchone()
    assert row == {"workflow_id": workflow_id, "step_name": "script"}
    sync_conn.execute("DELETE FROM workflow_instances WHERE workflow_id = %s", (workflow_id,))
    assert sync_conn.execute("SELECT 1 FROM tasks WHERE id = %s", (task_id,)).fetchone() is None


@pytest.mark.parametrize(
    ("task", "field"),
    [
        (NewTask("", "a", {}), "task_type"),
        (NewTask("x" * 51, "a", {}), "task_type"),
        (NewTask("t", "", {}), "agent"),
        (
            NewTask(
                "t",
                "a",
                [],
            ),
            "payload",
        ),  # type: ignore[arg-type]
        (NewTask("t", "a", {"x": object()}), "payload"),
        (NewTask("t", "a", {}, priority="high"), "priority"),  # type: ignore[arg-type]
        (NewTask("t", "a", {}, max_attempts=0), "max_attempts"),
        (NewTask("t", "a", {}, workflow_id="nope"), "workflow_id"),
        (NewTask("t", "a", {}, dedupe_key=""), "dedupe_key"),
        (NewTask("t", "a", {"topic": "a\x00b"}), "payload.topic"),
        (NewTask("t", "a", {"urls": ["ok", "lone \udc80"]}), "payload.urls[1]"),
        (NewTask("t", "a", {"k\x01": 1}), "payload.k\x01"),
        (NewTask("t", "a", {}, dedupe_key="d\x00"), "dedupe_key"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(sync_conn: Connection, task: NewTask, field: str) -> None:
    with pytest.raises(ValidationFailed) as info, sync_conn.transaction():
        enqueue_sync(sync_conn, [NewTask("ok", "a", {}), task])
    assert info.value.field == field
    count = sync_conn.execute("SELECT count(*) AS n FROM tasks").fetchone()
    assert count is not None and count["n"] == 0
