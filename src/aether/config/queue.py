"""The queue: task leases, rescue and retries; the workers that run tasks; the scheduler of periodic tasks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aether.config.base import Section


class QueueSettings(Section):
    heading = "Queue: workers and scheduler"

    queue_lease_s: float = Field(
        30.0, gt=0, le=86400, description="Seconds a claimed task's lease lasts; heartbeats renew it every third."
    )
    queue_rescue_interval_s: float = Field(
        2.0, gt=0, le=3600, description="Seconds between looks for running tasks whose lease expired (rescue)."
    )
    queue_retry_base_s: float = Field(
        2.0, ge=0, le=86400, description="First retry delay; doubles each attempt, with jitter (x0.5-1)."
    )
    queue_retry_max_s: float = Field(600.0, ge=0, le=7 * 86400, description="Longest retry delay.")
    queue_poll_interval_s: float = Field(
        1.0, gt=0, le=600, description="Idle workers look for due tasks this often besides LISTEN/NOTIFY."
    )
    worker_concurrency: int = Field(10, ge=1, le=10000, description="Tasks one worker process runs at once.")
    worker_agents: str = Field("", description="Comma-separated agents a worker serves; empty = every agent.")
    worker_handler_modules: str = Field(
        "", description="Comma-separated extra modules a worker imports to register task handlers."
    )
    worker_cpu_pool: Literal["process", "thread"] = Field(
        "process", description="Where ctx.run_cpu runs CPU-bound work: a process pool or a thread pool."
    )
    worker_cpu_workers: int | None = Field(
        None, ge=1, le=256, description="Size of the CPU pool; unset = the number of CPU cores."
    )
    worker_shutdown_timeout_s: float = Field(
        60.0, ge=0, le=86400, description="On SIGTERM, seconds to let tasks in hand finish before stopping them."
    )
    worker_cancel_grace_s: float = Field(
        10.0, ge=0, le=86400, description="Seconds a cancelled running handler gets to stop by itself."
    )
    scheduler_interval_s: float = Field(
        1.0, gt=0, le=3600, description="Seconds between the scheduler's looks at periodic task schedules."
    )
    schedule_min_interval_minutes: int = Field(
        60,
        ge=1,
        le=7 * 24 * 60,
        description="Shortest time allowed between two runs of a show's schedule (cron); closer ones are refused.",
    )
