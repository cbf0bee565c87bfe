"""Registers the engine with the queue: importing this module (or `aether.orchestrator`) makes every
worker in the process advance workflows inside the transaction that finishes each task."""

from __future__ import annotations

from aether.orchestrator.engine import step_completed, step_failed
from aether.queue.registry import on_task_complete, on_task_fail


def register_hooks() -> None:
    """Idempotent: the registry keeps each hook once."""
    on_task_complete(step_completed)
    on_task_fail(step_failed)


register_hooks()
