"""The durable task queue on the seed's `tasks` table.

`enqueue` / `enqueue_sync` insert tasks in the caller's transaction (workers are woken by NOTIFY on
commit); `cancel` stops a pending or running task; `aether.queue.worker` claims and runs them.
"""

from __future__ import annotations

from aether.queue.control import cancel, get_task, retry
from aether.queue.enqueue import NewTask, enqueue, enqueue_sync

__all__ = ["NewTask", "cancel", "enqueue", "enqueue_sync", "get_task", "retry"]
