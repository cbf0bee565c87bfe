"""The engine's hooks on the queue: a worker (or the scheduler, or `cancel`) given `HOOKS` advances
workflows inside the transaction that finishes each task."""

from __future__ import annotations

from aether.orchestrator.engine import step_completed, step_failed
from aether.queue.tasks import Hooks

HOOKS = Hooks(on_complete=(step_completed,), on_fail=(step_failed,))
