"""The hooks that run in the transaction that finishes a task, composed in one place: the workflow
engine's (record the step, enqueue the next) and the task metrics'. Every process that finishes or
cancels tasks (worker, scheduler, gateway, CLI) hands `HOOKS` to the queue. Light to import: the gateway's
processes load it without the agents."""

from __future__ import annotations

from aether import orchestrator
from aether.analytics import hooks as analytics_hooks
from aether.queue.tasks import Hooks

HOOKS: Hooks = orchestrator.HOOKS + analytics_hooks.HOOKS
