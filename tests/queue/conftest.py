from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from aether.config import Settings
from aether.db.pool import Database
from aether.idempotency import run_once
from aether.queue.tasks import NO_HOOKS
from aether.queue.worker import Worker, WorkerOptions
from tests.queue import handlers_for_tests

FAST = {
    "queue_lease_s": 1.5,
    "queue_rescue_interval_s": 0.2,
    "queue_retry_base_s": 0.02,
    "queue_retry_max_s": 0.1,
    "queue_poll_interval_s": 0.2,
    "worker_cancel_grace_s": 0.5,
    "worker_shutdown_timeout_s": 10.0,
    "worker_cpu_workers": 2,
    "pool_min_size": 1,
    "pool_max_size": 10,
}


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return settings.model_copy(update=FAST)


@pytest.fixture
async def qtables(adb: Database) -> Database:
    await adb.execute(handlers_for_tests.TABLES_SQL)
    return adb


StartWorker = Callable[..., Awaitable[Worker]]


@pytest.fixture
async def start_worker(fast_settings: Settings, qtables: Database) -> AsyncIterator[StartWorker]:
    """Start in-process workers (on their own pools); all are stopped at the end of the test."""
    running: list[tuple[Worker, asyncio.Task[None], Database]] = []

    async def start(settings: Settings | None = None, **options: Any) -> Worker:
        settings = settings or fast_settings
        assert settings.database_url is not None
        db = await Database(settings, settings.database_url.get_secret_value()).open()
        hooks = options.pop("hooks", NO_HOOKS)
        options.setdefault("listen", settings.database_listen)
        worker = Worker(
            settings, db, handlers_for_tests.tasks.handlers, WorkerOptions(**options), hooks=hooks, once=run_once
        )
        task = asyncio.create_task(worker.run())
        running.append((worker, task, db))
        await asyncio.wait_for(worker.ready_event.wait(), 10)
        return worker

    yield start
    for worker, task, db in running:
        worker.request_stop(hard=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 20)
        await db.close()
