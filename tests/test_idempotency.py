"""Idempotency keys: the HTTP rules of the IETF Idempotency-Key draft (on a small FastAPI app using
the route class the gateway uses) and the task side-effect guard `run_once`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from aether.config import Settings
from aether.db.pool import Database
from aether.db.stats import STATS
from aether.idempotency import (
    IdempotencyBusy,
    begin,
    complete,
    idempotent_route,
    lookup,
    prune_expired,
    run_once,
)
from aether.queue.tasks import TaskContext


class Shop:
    """The app's state: how often each handler really ran, and a gate to hold a request in flight."""

    def __init__(self) -> None:
        self.runs: dict[str, int] = {}
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    def ran(self, name: str) -> None:
        self.runs[name] = self.runs.get(name, 0) + 1


def make_app(db: Database, shop: Shop) -> FastAPI:
    app = FastAPI()
    app.state.db = db
    required = APIRouter(route_class=idempotent_route())
    optional = APIRouter(route_class=idempotent_route(required=False))

    @required.post("/orders", status_code=201)
    async def create_order(request: Request) -> JSONResponse:
        body = await request.json()
        shop.ran("orders")
        shop.entered.set()
        if shop.gate is not None:
            await shop.gate.wait()
        return JSONResponse(
            {"order": shop.runs["orders"], "item": body["item"]},
            status_code=201,
            headers={"Location": f"/orders/{shop.runs['orders']}"},
        )

    @required.get("/orders")
    async def list_orders() -> dict[str, int]:
        shop.ran("list")
        return {"orders": shop.runs.get("orders", 0)}

    @required.post("/boom")
    async def boom() -> dict[str, str]:
        shop.ran("boom")
        if shop.runs["boom"] == 1:
            raise RuntimeError("database fell over")
        return {"ok": "second time"}

    @required.post("/unavailable")
    async def unavailable() -> JSONResponse:
        shop.ran("unavailable")
        return JSONResponse({"error": "try later"}, status_code=503)

    @required.post("/text")
    async def text() -> PlainTextResponse:
        shop.ran("text")
        return PlainTextResponse(f"plain {shop.runs['text']}", status_code=202)

    @optional.post("/notes")
    async def notes() -> dict[str, int]:
        shop.ran("notes")
        return {"n": shop.runs["notes"]}

    app.include_router(required)
    app.include_router(optional)
    return app


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.fixture
async def client(adb: Database, shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(adb, shop)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://aether.test") as http:
        yield http


def key() -> str:
    return str(uuid.uuid4())


# ---- HTTP -----------------------------------------------------------------------------------------


async def test_replay_returns_the_stored_status_body_and_headers(client: httpx.AsyncClient, shop: Shop) -> None:
    k = key()
    first = await client.post("/orders", json={"item": "mug"}, headers={"Idempotency-Key": k})
    assert first.status_code == 201 and first.json() == {"order": 1, "item": "mug"}
    assert "Idempotent-Replayed" not in first.headers
    again = await client.post("/orders", json={"item": "mug"}, headers={"X-Idempotency-Key": k})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["location"] == "/orders/1"
    assert again.headers["content-type"].startswith("application/json")
    assert shop.runs["orders"] == 1
    # the same JSON with another key order and spacing is the same request
    reordered = await client.post(
        "/orders",
        content=b'{ "item" :   "mug" }',
        headers={"Idempotency-Key": f'"{k}"', "Content-Type": "application/json"},
    )
    assert reordered.status_code == 201 and reordered.json() == first.json()
    assert shop.runs["orders"] == 1


async def test_a_new_key_is_a_new_request(client: httpx.AsyncClient, shop: Shop) -> None:
    for _ in range(2):
        response = await client.post("/orders", json={"item": "mug"}, headers={"Idempotency-Key": key()})
        assert response.status_code == 201
    assert shop.runs["orders"] == 2


async def test_same_key_with_another_payload_is_422(client: httpx.AsyncClient, shop: Shop) -> None:
    k = key()
    await client.post("/orders", json={"item": "mug"}, headers={"Idempotency-Key": k})
    reused = await client.post("/orders", json={"item": "plate"}, headers={"Idempotency-Key": k})
    assert reused.status_code == 422
    error = reused.json()["error"]
    assert error["code"] == "invalid" and error["field"] == "Idempotency-Key"
    assert "already used for a different request" in error["message"]
    # another caller (credentials) reusing the key never gets the first caller's response
    other = await client.post(
        "/orders", json={"item": "mug"}, headers={"Idempotency-Key": k, "Authorization": "Bearer someone-else"}
    )
    assert other.status_code == 422
    assert shop.runs["orders"] == 1


async def test_same_key_while_in_flight_is_409(client: httpx.AsyncClient, shop: Shop) -> None:
    k = key()
    shop.gate = asyncio.Event()
    first = asyncio.create_task(client.post("/orders", json={"item": "mug"}, headers={"Idempotency-Key": k}))
    await asyncio.wait_for(shop.entered.wait(), timeout=10)
    second = await client.post("/orders", json={"item": "mug"}, headers={"Idempotency-Key": k})
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conflict" and second.headers["retry-after"] == "1"
    shop.gate.set()
    assert (await first).status_code == 201
    third = await client.post("/orders", json={"item": "mug"}, headers={"Idempotency-Key": k})
    assert third.status_code == 201 and third.headers["Idempotent-Replayed"] == "true"
    assert shop.runs["orders"] == 1


async def test_missing_or_malformed_key_is_400(client: httpx.AsyncClient, shop: Shop) -> None:
    missing = await client.post("/orders", json={"item": "mug"})
    assert missing.status_code == 400
    assert missing.json()["error"]["field"] == "Idempotency-Key"
    assert "needs an Idempotency-Key" in missing.json()["error"]["message"]
    too_long = await client.post("/orders", json={"item": "mug"}, headers={"Idempotency-Key": "k" * 256})
    assert too_long.status_code == 400 and "at most 255" in too_long.json()["error"]["message"]
    disagree = await client.post(
        "/orders", json={"item": "mug"}, headers={"Idempotency-Key": "a1", "X-Idempotency-Key": "b2"}
    )
    assert disagree.status_code == 400 and "disagree" in disagree.json()["error"]["message"]
    assert "orders" not in shop.runs
    # reads are never guarded, and a router may make the key optional
    assert (await client.get("/orders")).status_code == 200
    assert (await client.post("/notes")).json() == {"n": 1}
    assert (await client.post("/notes")).json() == {"n": 2}
    k = key()
    assert (await client.post("/notes", headers={"Idempotency-Key": k})).json() == {"n": 3}
    assert (await client.post("/notes", headers={"Idempotency-Key": k})).json() == {"n": 3}


async def test_keys_are_scoped_by_workflow_id(client: httpx.AsyncClient, shop: Shop) -> None:
    k = key()
    for wid in ("wf-1", "wf-2", "wf-1"):
        response = await client.post(
            "/orders", json={"item": "mug"}, headers={"Idempotency-Key": k, "X-Workflow-ID": wid}
        )
        assert response.status_code == 201
    assert shop.runs["orders"] == 2


async def test_failed_requests_release_the_key(client: httpx.AsyncClient, shop: Shop) -> None:
    k = key()
    crashed = await client.post("/boom", headers={"Idempotency-Key": k})
    assert crashed.status_code == 500
    retried = await client.post("/boom", headers={"Idempotency-Key": k})
    assert retried.status_code == 200 and retried.json() == {"ok": "second time"}
    k2 = key()
    assert (await client.post("/unavailable", headers={"Idempotency-Key": k2})).status_code == 503
    assert (await client.post("/unavailable", headers={"Idempotency-Key": k2})).status_code == 503
    assert shop.runs == {"boom": 2, "unavailable": 2}


async def test_non_json_responses_replay_byte_for_byte(client: httpx.AsyncClient, shop: Shop) -> None:
    k = key()
    first = await client.post("/text", headers={"Idempotency-Key": k})
    again = await client.post("/text", headers={"Idempotency-Key": k})
    assert (first.status_code, first.text) == (202, "plain 1")
    assert (again.status_code, again.text, again.headers["content-type"]) == (
        202,
        "plain 1",
        first.headers["content-type"],
    )
    assert shop.runs["text"] == 1


async def test_expired_keys_are_forgotten_and_pruned(client: httpx.AsyncClient, shop: Shop, adb: Database) -> None:
    k = key()
    await client.post("/orders", json={"item": "mug"}, headers={"Idempotency-Key": k})
    record = await lookup_row(adb, k)
    hours = (record["expires_at"] - record["created_at"]).total_seconds() / 3600
    assert round(hours) == 24  # AETHER_IDEMPOTENCY_TTL_HOURS
    await adb.execute(
        "UPDATE idempotency_keys SET expires_at = (now() AT TIME ZONE 'UTC') - interval '1 second'"
        " WHERE idempotency_key = %s",
        (k,),
    )
    fresh = await client.post("/orders", json={"item": "plate"}, headers={"Idempotency-Key": k})
    assert fresh.status_code == 201 and fresh.json() == {"order": 2, "item": "plate"}
    live = key()
    await client.post("/orders", json={"item": "cup"}, headers={"Idempotency-Key": live})
    await adb.execute(
        "UPDATE idempotency_keys SET expires_at = (now() AT TIME ZONE 'UTC') - interval '1 hour'"
        " WHERE idempotency_key <> %s",
        (live,),
    )
    async with adb.connection() as conn:
        assert await prune_expired(conn, batch=1) == 1
        assert await lookup(conn, k) is None
        assert await lookup(conn, live) is not None
        assert await prune_expired(conn) == 0


async def lookup_row(adb: Database, k: str, scope: str = "") -> dict[str, Any]:
    async with adb.connection() as conn:
        row = await lookup(conn, k, scope)
    assert row is not None
    return row


async def test_core_claims_race_to_one_winner(adb: Database) -> None:
    k = key()

    async def claim() -> str:
        async with adb.connection() as conn:
            got = await begin(conn, k, workflow_id="wf", task_name="t", fingerprint="f" * 64, ttl_s=60, lock_s=60)
        return got.outcome.value

    outcomes = await asyncio.gather(*(claim() for _ in range(8)))
    assert sorted(outcomes) == ["in_flight"] * 7 + ["new"]


async def test_a_crashed_holders_claim_is_taken_over_after_its_lock(adb: Database) -> None:
    k = key()
    async with adb.connection() as conn:
        first = await begin(conn, k, task_name="t", fingerprint="a" * 64, ttl_s=3600, lock_s=60)
        assert first.outcome.value == "new"
        await conn.execute(
            "UPDATE idempotency_keys SET locked_until = (now() AT TIME ZONE 'UTC') - interval '1 second'"
        )
        await conn.commit()
        second = await begin(conn, k, task_name="t", fingerprint="a" * 64, ttl_s=3600, lock_s=60)
        assert second.outcome.value == "new" and second.token != first.token
        assert await complete(conn, second, payload={"done": 2}, response_status=200)
        # the first holder wakes up late: the record stays the second one's
        assert not await complete(conn, first, payload={"done": 1}, response_status=200)
        row = await lookup(conn, k)
    assert row is not None and row["result_payload"] == {"done": 2}


# ---- tasks: run_once ------------------------------------------------------------------------------


def context(settings: Settings, db: Database, *, task_id: int = 1, workflow_id: str | None = None) -> TaskContext:
    return TaskContext(
        task_id=task_id,
        task_type="publish.telegram",
        agent="telegram",
        attempt=1,
        settings=settings,
        db=db,
        workflow_id=workflow_id,
        once_impl=run_once,
    )


class Effect:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return {"message_id": 1000 + self.calls}


async def test_run_once_replays_a_completed_effect(settings: Settings, adb: Database) -> None:
    wid = str(uuid.uuid4())
    effect = Effect()
    first = await context(settings, adb, task_id=1, workflow_id=wid).once("telegram.send", effect)
    # a retried or rescued task (another task id, same workflow) gets the recorded result back
    again = await context(settings, adb, task_id=2, workflow_id=wid).once("telegram.send", effect)
    assert first == again == {"message_id": 1001} and effect.calls == 1
    # another workflow, or another name, is another effect
    assert await context(settings, adb, workflow_id=str(uuid.uuid4())).once("telegram.send", effect) == {
        "message_id": 1002
    }
    assert await context(settings, adb, workflow_id=wid).once("youtube.upload", effect) == {"message_id": 1003}
    row = await lookup_row(adb, "telegram.send", wid)
    assert row["status"] == "completed" and row["task_name"] == "publish.telegram"


async def test_run_once_outside_a_workflow_is_scoped_by_task(settings: Settings, adb: Database) -> None:
    effect = Effect()
    assert await context(settings, adb, task_id=7).once("mail.send", effect) == {"message_id": 1001}
    assert await context(settings, adb, task_id=7).once("mail.send", effect) == {"message_id": 1001}
    assert await context(settings, adb, task_id=8).once("mail.send", effect) == {"message_id": 1002}
    assert (await lookup_row(adb, "mail.send", "task:7"))["status"] == "completed"


async def test_a_failed_effect_runs_again_on_the_next_attempt(settings: Settings, adb: Database) -> None:
    wid = str(uuid.uuid4())
    calls = 0

    async def flaky() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("telegram unreachable")
        return {"sent": True}

    with pytest.raises(ConnectionError):
        await context(settings, adb, workflow_id=wid).once("telegram.send", flaky)
    row = await lookup_row(adb, "telegram.send", wid)
    assert row["status"] == "failed" and "telegram unreachable" in row["result_payload"]["error"]
    assert await context(settings, adb, workflow_id=wid).once("telegram.send", flaky) == {"sent": True}
    assert calls == 2


async def until(predicate: Callable[[], Awaitable[bool]], *, timeout: float = 10.0, what: str = "") -> None:
    """Poll an async condition until it holds or the deadline passes (never a bare sleep)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def claims_made() -> int:
    timing = STATS.snapshot().get("claim_key")
    return timing.count if timing else 0


async def test_concurrent_attempts_run_the_effect_once(settings: Settings, adb: Database) -> None:
    wid = str(uuid.uuid4())
    release = asyncio.Event()
    started = asyncio.Event()
    calls = 0

    async def slow() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return {"uploaded": "video-1"}

    first = asyncio.create_task(context(settings, adb, task_id=1, workflow_id=wid).once("youtube.upload", slow))
    await asyncio.wait_for(started.wait(), timeout=10)
    before = claims_made()
    second = asyncio.create_task(context(settings, adb, task_id=2, workflow_id=wid).once("youtube.upload", slow))

    async def second_is_waiting() -> bool:
        return claims_made() >= before + 2  # it found the claim held and is polling

    await until(second_is_waiting, what="the second attempt to wait on the first")
    assert not second.done()
    release.set()
    assert await first == await second == {"uploaded": "video-1"}
    assert calls == 1


async def test_a_held_claim_makes_a_second_attempt_retry_later(settings: Settings, adb: Database) -> None:
    wid = str(uuid.uuid4())
    async with adb.connection() as conn:
        await begin(conn, "telegram.send", workflow_id=wid, task_name="t", ttl_s=3600, lock_s=3600)
    effect = Effect()
    with pytest.raises(IdempotencyBusy, match="being run by another attempt"):
        await run_once(context(settings, adb, workflow_id=wid), "telegram.send", effect, wait_s=0.05)
    assert effect.calls == 0
    # the holder crashed: once its lock runs out, the next attempt takes over
    await adb.execute("UPDATE idempotency_keys SET locked_until = (now() AT TIME ZONE 'UTC') - interval '1 second'")
    assert await context(settings, adb, workflow_id=wid).once("telegram.send", effect) == {"message_id": 1001}


async def test_a_long_effect_keeps_renewing_its_claim(adb: Database, settings: Settings) -> None:
    quick = settings.model_copy(update={"idempotency_lock_seconds": 1.0})
    wid = str(uuid.uuid4())
    release = asyncio.Event()
    started = asyncio.Event()

    async def long_upload() -> dict[str, Any]:
        started.set()
        await release.wait()
        return {"uploaded": True}

    task = asyncio.create_task(context(quick, adb, workflow_id=wid).once("youtube.upload", long_upload))
    await asyncio.wait_for(started.wait(), timeout=10)
    first = (await lookup_row(adb, "youtube.upload", wid))["locked_until"]

    async def renewed() -> bool:
        return bool((await lookup_row(adb, "youtube.upload", wid))["locked_until"] > first)

    await until(renewed, what="the claim's lock to be renewed")
    # the claim outlives its first lock: a rescued copy of the task cannot take the effect over
    other = Effect()
    with pytest.raises(IdempotencyBusy):
        await run_once(context(quick, adb, task_id=2, workflow_id=wid), "youtube.upload", other, wait_s=1.5)
    assert other.calls == 0
    release.set()
    assert await task == {"uploaded": True}
    assert (await lookup_row(adb, "youtube.upload", wid))["status"] == "completed"
