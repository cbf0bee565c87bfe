"""The `maintenance` agent: runs the operations jobs of aether.ops.maintenance on their schedule.

Migration 0008 puts one periodic task per job into `periodic_tasks` (task type `maintenance.run`,
payload `{"job": "<name>"}`); a worker serving the `maintenance` agent runs them. Every run is
recorded in `maintenance_runs`; a job that fails fails its task (and is retried once).

Workers act as aether_app (aether.security.roles), which may not VACUUM, REINDEX, create or drop analytics
partitions, prune the audit log or take backups. So the jobs never use the worker's pool: `run_job` opens
a connection of its own as the URL's user (the owner's connection, no SET ROLE), and gets settings without
a database role in case a job opens a pool.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aether.errors import PermanentError, ValidationFailed
from aether.ops.maintenance import check_job, run_job
from aether.queue.tasks import Blueprint, TaskContext
from aether.security.roles import owner_settings

tasks = Blueprint()


@tasks.task("maintenance.run", agent="maintenance")
async def run_maintenance(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:

    name = payload.get("job")
    if not isinstance(name, str):
        raise PermanentError('the payload must name a job: {"job": "<name>"}')
    try:
        check_job(name)
    except ValidationFailed as exc:
        raise PermanentError(exc.message) from None
    record = await asyncio.to_thread(run_job, owner_settings(ctx.settings), name, trigger="schedule")
    if record.outcome == "failed":
        raise RuntimeError(f"maintenance job {name} failed: {record.error}")
    return record.to_json()
