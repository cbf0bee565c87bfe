"""Idempotency: how long HTTP Idempotency-Keys and task side effects (ctx.once) are remembered and held."""

from __future__ import annotations

from pydantic import Field

from aether.config.base import Section


class IdempotencySettings(Section):
    heading = "Idempotency"

    idempotency_ttl_hours: float = Field(
        24.0, gt=0, le=24 * 365, description="Hours an HTTP Idempotency-Key is remembered (replays), then pruned."
    )
    idempotency_task_ttl_hours: float = Field(
        168.0,
        gt=0,
        le=24 * 365,
        description="Hours a task side effect's record (ctx.once) is kept, so late retries still replay it.",
    )
    idempotency_lock_seconds: float = Field(
        60.0,
        gt=0,
        le=86400,
        description="Seconds an in-flight claim holds a key (renewed while it runs); a crashed holder's "
        "claim is taken over after this.",
    )
