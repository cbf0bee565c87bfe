"""The contract between the queue, the workflow engine and the agents.

* Agents register handlers: `@task_handler("tda.discover", agent="tda")` on an
  `async def handler(ctx: TaskContext, payload: dict) -> dict`. The returned dict becomes `tasks.result`
  (and the workflow step's output). CPU-bound work inside a handler goes to `await ctx.run_cpu(fn, *args)`.
  A handler that raises `PermanentError` is failed at once (no retries); any other exception is retried
  with back-off until `max_attempts`.
* Every external side effect inside a handler goes through `await ctx.once(name, fn)`: it runs `fn` at most
  once per (name, workflow) and replays the recorded result on a retried or rescued task.
* The workflow engine registers completion hooks: they run inside the same transaction that marks the task
  completed or failed, so recording a step and enqueueing the next ones can never be lost or doubled.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from aether.config import Settings
    from aether.db.pool import AsyncConnection, AsyncDatabase

P = ParamSpec("P")
R = TypeVar("R")

JSON = dict[str, Any]


class PermanentError(Exception):
    """A failure that retrying cannot fix (bad input, revoked credentials): the task fails at once."""


class TaskCancelled(Exception):
    """Raised inside a handler (by ctx.raise_if_cancelled) when its task was cancelled."""


@dataclass
class TaskContext:
    task_id: int
    task_type: str
    agent: str
    attempt: int
    settings: Settings
    db: AsyncDatabase
    workflow_id: str | None = None
    step_name: str | None = None
    cancel_event: asyncio.Event = field(default_factory=asyncio.Event)
    once_impl: Callable[[TaskContext, str, Callable[[], Awaitable[JSON]]], Awaitable[JSON]] | None = None
    cpu_impl: Callable[..., Awaitable[Any]] | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def raise_if_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise TaskCancelled(f"task {self.task_id} was cancelled")

    async def once(self, name: str, fn: Callable[[], Awaitable[JSON]]) -> JSON:
        """Run the side effect `fn` at most once for (name, workflow); replays return its recorded result."""
        if self.once_impl is None:
            raise RuntimeError("this TaskContext has no idempotency guard (once_impl) configured")
        return await self.once_impl(self, name, fn)

    async def run_cpu(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run CPU-bound work off the event loop (the worker's process pool or a thread)."""
        if self.cpu_impl is not None:
            result: R = await self.cpu_impl(fn, *args, **kwargs)
            return result
        return await asyncio.to_thread(fn, *args, **kwargs)


TaskHandler = Callable[[TaskContext, JSON], Awaitable[JSON]]


@dataclass(frozen=True)
class HandlerSpec:
    task_type: str
    agent: str
    fn: TaskHandler
    timeout_s: float | None = None


HANDLERS: dict[str, HandlerSpec] = {}

# Modules whose import registers handlers; `load_handlers()` imports those that exist.
HANDLER_MODULES: tuple[str, ...] = (
    "aether.agents.tda",
    "aether.agents.sca",
    "aether.agents.pswa",
    "aether.agents.iga",
    "aether.agents.vfa",
    "aether.agents.music",
    "aether.agents.video",
    "aether.agents.telegram",
    "aether.agents.youtube",
    "aether.agents.publish",
    "aether.agents.maintenance",
    "aether.mail",
    "aether.workflows.release",
    "aether.workflows.schedule",
)


def task_handler(task_type: str, *, agent: str, timeout_s: float | None = None) -> Callable[[TaskHandler], TaskHandler]:
    def register(fn: TaskHandler) -> TaskHandler:
        existing = HANDLERS.get(task_type)
        if existing is not None and existing.fn is not fn:
            raise ValueError(f"task type {task_type!r} already has a handler ({existing.fn.__qualname__})")
        HANDLERS[task_type] = HandlerSpec(task_type, agent, fn, timeout_s)
        return fn

    return register


def _import_present(modules: tuple[str, ...]) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def load_handlers(extra: tuple[str, ...] = ()) -> dict[str, HandlerSpec]:
    """Import HANDLER_MODULES (those that exist) and `extra` modules (which must exist)."""
    _import_present(HANDLER_MODULES)
    for module in extra:
        importlib.import_module(module)
    return HANDLERS


# Modules whose import registers completion hooks (the workflow engine); `load_hooks()` imports them.
HOOK_MODULES: tuple[str, ...] = ("aether.orchestrator", "aether.analytics.hooks")


def load_hooks() -> tuple[list[CompleteHook], list[FailHook]]:
    _import_present(HOOK_MODULES)
    return ON_COMPLETE, ON_FAIL


# ---- completion hooks (the workflow engine's seam) ---------------------------------------------

CompleteHook = Callable[["AsyncConnection", dict[str, Any], JSON], Awaitable[None]]
FailHook = Callable[["AsyncConnection", dict[str, Any], str, bool], Awaitable[None]]

ON_COMPLETE: list[CompleteHook] = []
ON_FAIL: list[FailHook] = []


def on_task_complete(hook: CompleteHook) -> CompleteHook:
    """hook(conn, task_row, result) runs in the transaction that marks the task completed."""
    if hook not in ON_COMPLETE:
        ON_COMPLETE.append(hook)
    return hook


def on_task_fail(hook: FailHook) -> FailHook:
    """hook(conn, task_row, error_message, final) runs in the transaction that records a failure;
    `final` is True when no attempt is left (or the task was cancelled)."""
    if hook not in ON_FAIL:
        ON_FAIL.append(hook)
    return hook
