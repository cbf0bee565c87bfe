"""The scheduler role (`aether scheduler`): fires periodic tasks and rescues expired leases until SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from aether.config import Settings
from aether.db.connect import open_database
from aether.queue.periodic import run_scheduler
from aether.run.hooks import HOOKS


async def run(settings: Settings) -> None:
    db = await open_database(settings, name="aether-scheduler")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_scheduler(settings, db, stop, hooks=HOOKS)
    finally:
        await db.close()
