"""Fixtures of the workflow tests: fast queue settings, an async database, shows in the database, and an
in-process worker running the real publishing handlers with stand-ins for the media steps."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from aether.config import Settings
from aether.db import Database
from aether.idempotency import run_once
from aether.queue.tasks import HandlerSpec
from aether.queue.worker import Worker, WorkerOptions
from aether.run.hooks import HOOKS
from aether.run.wiring import TASKS
from tests.podcasts import media_standins

FAST = {
    "queue_lease_s": 5.0,
    "queue_rescue_interval_s": 0.5,
    "queue_retry_base_s": 0.02,
    "queue_retry_max_s": 0.1,
    "queue_poll_interval_s": 0.1,
    "worker_cpu_pool": "thread",
    "worker_shutdown_timeout_s": 5.0,
    "publish_max_retries": 1,
    "public_url": "https://pod.example",
    "pool_min_size": 1,
    "pool_max_size": 8,
}


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return settings.model_copy(update=FAST)


async def make_show(db: Database, **columns: Any) -> dict[str, Any]:
    """A user and one show of theirs, with the given shows columns (JSON ones as Python values)."""
    user = await db.fetch_one(
        "INSERT INTO users (email, password_hash, display_name) VALUES (%s, 'x', 'Tester') RETURNING id",
        (f"user-{uuid.uuid4().hex[:8]}@example.org",),
    )
    assert user is not None
    values = {
        "user_id": user["id"],
        "slug": f"show-{uuid.uuid4().hex[:8]}",
        "guid": uuid.uuid4(),
        "title": "The Test Show",
        "author": "Ada Tester",
        "description": "A show made by tests.",
        "sources": ["https://feeds.example.org/tests.xml"],  # an episode needs a source to read
        **columns,
    }
    params = {k: Jsonb(v) if k in ("hosts", "sources", "targets") else v for k, v in values.items()}
    names = ", ".join(params)
    placeholders = ", ".join(f"%({k})s" for k in params)
    row = await db.fetch_one(f"INSERT INTO shows ({names}) VALUES ({placeholders}) RETURNING *", params)
    assert row is not None
    return dict(row)


class WorkerThread:
    """An in-process worker in a thread of its own (its own event loop), so tests wait on it with
    tests.queue.helpers.until: the real handlers of publishing (release, telegram, youtube, websub) and the
    media steps' stand-ins (or the real media handlers, `real_media`); with `real_content` the real
    discovery, snippets and script steps; `handlers` replaces some handlers with a test's own."""

    def __init__(
        self,
        settings: Settings,
        *,
        real_media: bool = False,
        real_content: bool = False,
        handlers: dict[str, HandlerSpec] | None = None,
    ) -> None:
        self.settings = settings
        self.real_media = real_media
        self.real_content = real_content
        self.own_handlers = handlers or {}
        self.worker: Worker | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.started = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported by stop()
            self.error = exc
            self.started.set()

    async def _run(self) -> None:
        real = TASKS
        media = media_standins.handlers()
        content = ("tda.gather", "sca.snippets", "pswa.write_script")
        if self.real_media:
            media |= {t: real[t] for t in media if t not in content}
        if self.real_content:
            media |= {t: real[t] for t in content}
        publishing = ("podcasts.draft", "publish.release", "telegram.publish", "youtube.publish", "publish.websub")
        handlers = {t: real[t] for t in publishing} | media | self.own_handlers
        assert self.settings.database_url is not None
        self.loop = asyncio.get_running_loop()
        async with Database(self.settings, self.settings.database_url.get_secret_value()) as db:
            options = WorkerOptions(concurrency=4, listen=True)
            self.worker = Worker(self.settings, db, handlers, options, hooks=HOOKS, once=run_once)
            task = asyncio.create_task(self.worker.run())
            await asyncio.wait_for(self.worker.ready_event.wait(), 10)
            self.started.set()
            await task

    def start(self) -> WorkerThread:
        self.thread.start()
        assert self.started.wait(30), "the worker did not start"
        if self.error is not None:
            raise self.error
        return self

    def stop(self) -> None:
        worker, loop = self.worker, self.loop
        if worker is not None and loop is not None and self.thread.is_alive():
            loop.call_soon_threadsafe(lambda: worker.request_stop(hard=True))
        self.thread.join(timeout=30)


@pytest.fixture
def worker_thread() -> Iterator[Callable[..., WorkerThread]]:
    started: list[WorkerThread] = []

    def start(settings: Settings, *, real_media: bool = False, real_content: bool = False) -> WorkerThread:
        started.append(WorkerThread(settings, real_media=real_media, real_content=real_content).start())
        return started[-1]

    yield start
    for worker in started:
        worker.stop()
