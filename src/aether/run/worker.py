"""The worker role (`aether worker`): claims and runs tasks of the composed blueprints until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence

from aether.config import Settings
from aether.db.connect import open_database
from aether.idempotency import run_once
from aether.queue.worker import Worker, WorkerOptions
from aether.run import wiring
from aether.run.hooks import HOOKS
from aether.security.keys import check_master_key

log = logging.getLogger(__name__)


async def run_worker(
    settings: Settings,
    *,
    agents: Sequence[str] | None = None,
    concurrency: int | None = None,
    prefetch: int = 0,
    handler_modules: Sequence[str] = (),
) -> Worker:
    """Run a worker until SIGTERM/SIGINT (a second signal stops the tasks in hand at once)."""
    tasks = wiring.tasks(handler_modules)
    concurrency = concurrency or settings.worker_concurrency
    db = await open_database(settings, name="aether-worker")
    try:
        # a missing or wrong master key stops the worker at start, naming the key ids
        await check_master_key(db, settings)
        options = WorkerOptions(
            agents=list(agents) if agents else None,
            concurrency=concurrency,
            prefetch=prefetch,
            listen=settings.database_listen,
        )
        worker = Worker(settings, db, tasks.handlers, options, hooks=HOOKS, once=run_once)
        loop = asyncio.get_running_loop()

        def on_signal(signame: str) -> None:
            hard = worker.stop_event.is_set()
            log.info("%s: %s", signame, "stopping the tasks in hand" if hard else "finishing the tasks in hand")
            worker.request_stop(hard=hard)

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig.name)
        try:
            await worker.run()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        return worker
    finally:
        await db.close()
