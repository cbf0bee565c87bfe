"""The contract between the queue, the workflow engine and the agents.

* A package declares its task handlers on a `Blueprint` (as procrastinate's blueprints do):

      tasks = Blueprint()

      @tasks.task("tda.discover", agent="tda")
      async def discover(ctx: TaskContext, payload: JSON) -> JSON: ...

  and a process composes the blueprints it serves explicitly (`Blueprint.add_tasks_from`, see
  `aether.run.wiring`), so a misspelt module is an ImportError at start-up and a mypy error. The returned
  dict becomes `tasks.result` (and the workflow step's output). CPU-bound work inside a handler goes to
  `await ctx.run_cpu(fn, *args)`. A handler that raises `PermanentError` is failed at once (no retries);
  any other exception is retried with back-off until `max_attempts`. Bad input read inside
  `with bad_input_is_permanent():` (a `ValidationFailed`) fails the task at once with its message.
* Every external side effect inside a handler goes through `await ctx.once(name, fn)`: it runs `fn` at most
  once per (name, workflow) and replays the recorded result on a retried or rescued task.
* `Hooks` run inside the same transaction that marks a task completed or failed (the workflow engine's
  hooks record the step and enqueue the next ones), so a step can never be lost or doubled. They too are
  composed explicitly and handed to the worker, the scheduler and `cancel`.
* User plugins (`AETHER_WORKER_HANDLER_MODULES`, `aether worker --handlers`) are the one place a module is
  named in a string: `load_plugins` imports each and takes its `tasks` blueprint; a module that does not
  exist, or has no blueprint, stops the worker at start-up.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from aether.errors import ConfigError, PermanentError, TaskCancelled, ValidationFailed

if TYPE_CHECKING:
    from aether.config import Settings
    from aether.db.pool import AsyncConnection, Database

P = ParamSpec("P")
R = TypeVar("R")

JSON = dict[str, Any]


@dataclass
class TaskContext:
    task_id: int
    task_type: str
    agent: str
    attempt: int
    settings: Settings
    db: Database
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


@contextmanager
def bad_input_is_permanent() -> Iterator[None]:
    """In a task handler, around reading its payload: input that breaks a rule cannot be fixed by a retry,
    so the ValidationFailed becomes a PermanentError with the same message."""
    try:
        yield
    except ValidationFailed as exc:
        raise PermanentError(str(exc)) from exc


TaskHandler = Callable[[TaskContext, JSON], Awaitable[JSON]]


@dataclass(frozen=True)
class HandlerSpec:
    task_type: str
    agent: str
    fn: TaskHandler
    timeout_s: float | None = None


class Blueprint:
    """Task handlers by task type, declared with `@blueprint.task(...)` and composed with
    `add_tasks_from`; a task type has one handler, so declaring it twice is an error."""

    def __init__(self, *parts: Blueprint) -> None:
        self.handlers: dict[str, HandlerSpec] = {}
        for part in parts:
            self.add_tasks_from(part)

    def task(
        self, task_type: str, *, agent: str, timeout_s: float | None = None
    ) -> Callable[[TaskHandler], TaskHandler]:
        def register(fn: TaskHandler) -> TaskHandler:
            self._add(HandlerSpec(task_type, agent, fn, timeout_s))
            return fn

        return register

    def add_tasks_from(self, other: Blueprint) -> None:
        for spec in other.handlers.values():
            self._add(spec)

    def _add(self, spec: HandlerSpec) -> None:
        existing = self.handlers.get(spec.task_type)
        if existing is not None and existing.fn is not spec.fn:
            raise ValueError(f"task type {spec.task_type!r} already has a handler ({existing.fn.__qualname__})")
        self.handlers[spec.task_type] = spec

    def __getitem__(self, task_type: str) -> HandlerSpec:
        return self.handlers[task_type]

    def __contains__(self, task_type: object) -> bool:
        return task_type in self.handlers

    def __iter__(self) -> Iterator[str]:
        return iter(self.handlers)

    def __len__(self) -> int:
        return len(self.handlers)


def load_plugins(modules: Iterable[str]) -> Blueprint:
    """The blueprints of user plugin modules (their module-level `tasks`); the one dynamic import."""
    found = Blueprint()
    for name in modules:
        try:
            module = importlib.import_module(name)
        except (ImportError, TypeError, ValueError) as exc:  # a missing module, or a name that is not one
            raise ConfigError(
                f"AETHER_WORKER_HANDLER_MODULES: cannot import {name!r}: {exc}", field="AETHER_WORKER_HANDLER_MODULES"
            ) from exc
        tasks = getattr(module, "tasks", None)
        if not isinstance(tasks, Blueprint):
            raise ConfigError(
                f"AETHER_WORKER_HANDLER_MODULES: {name!r} has no `tasks` blueprint (aether.queue.tasks.Blueprint)",
                field="AETHER_WORKER_HANDLER_MODULES",
            )
        found.add_tasks_from(tasks)
    return found


# ---- completion hooks (the workflow engine's seam) ---------------------------------------------

CompleteHook = Callable[["AsyncConnection", dict[str, Any], JSON], Awaitable[None]]
FailHook = Callable[["AsyncConnection", dict[str, Any], str, bool], Awaitable[None]]


@dataclass(frozen=True)
class Hooks:
    """What runs in the transaction that finishes a task.

    on_complete: hook(conn, task_row, result), in the transaction that marks the task completed.
    on_fail: hook(conn, task_row, error_message, final), in the transaction that records a failure;
    `final` is True when no attempt is left (or the task was cancelled)."""

    on_complete: tuple[CompleteHook, ...] = ()
    on_fail: tuple[FailHook, ...] = ()

    def __add__(self, other: Hooks) -> Hooks:
        return Hooks(
            self.on_complete + tuple(h for h in other.on_complete if h not in self.on_complete),
            self.on_fail + tuple(h for h in other.on_fail if h not in self.on_fail),
        )


NO_HOOKS = Hooks()
