"""The contract between the queue and its handlers: blueprints and their composition, user plugins loaded
by module name, hooks added together, and the task context (once, run_cpu, cancellation)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Any

import pytest

from aether.config import Settings
from aether.db.pool import AsyncConnection, Database
from aether.errors import ConfigError, TaskCancelled
from aether.idempotency import run_once
from aether.queue.tasks import NO_HOOKS, Blueprint, HandlerSpec, Hooks, TaskContext, load_plugins
from aether.queue.worker import CpuPool
from aether.run import wiring
from tests.queue import handlers_for_tests

PLUGIN = "tests.queue.handlers_for_tests"


async def handler_a(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {"a": payload}


async def handler_b(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {"b": payload}


def context(settings: Settings, db: Database, **changes: Any) -> TaskContext:
    fields: dict[str, Any] = {
        "task_id": 7,
        "task_type": "t.run",
        "agent": "t",
        "attempt": 1,
        "settings": settings,
        "db": db,
    }
    fields.update(changes)
    return TaskContext(**fields)


# ---- blueprints -----------------------------------------------------------------------------------


def test_a_blueprint_declares_handlers_by_task_type() -> None:
    tasks = Blueprint()
    decorated = tasks.task("t.a", agent="agent-a", timeout_s=30)(handler_a)
    tasks.task("t.b", agent="agent-b")(handler_b)
    assert decorated is handler_a  # the function stays itself
    assert tasks["t.a"] == HandlerSpec("t.a", "agent-a", handler_a, 30)
    assert tasks["t.b"] == HandlerSpec("t.b", "agent-b", handler_b, None)
    assert list(tasks) == ["t.a", "t.b"] and len(tasks) == 2
    assert "t.a" in tasks and "t.c" not in tasks and 3 not in tasks
    with pytest.raises(KeyError):
        tasks["t.c"]


def test_blueprints_compose() -> None:
    first, second = Blueprint(), Blueprint()
    first.task("t.a", agent="a")(handler_a)
    second.task("t.b", agent="b")(handler_b)
    both = Blueprint(first, second)
    assert list(both) == ["t.a", "t.b"] and both["t.b"].fn is handler_b
    later = Blueprint()
    later.add_tasks_from(first)
    later.add_tasks_from(second)
    later.add_tasks_from(both)  # the same handlers again: nothing changes
    assert later.handlers == both.handlers
    assert list(first) == ["t.a"] and list(second) == ["t.b"]  # the parts are not changed


def test_a_task_type_has_one_handler() -> None:
    tasks = Blueprint()
    tasks.task("t.a", agent="a")(handler_a)
    with pytest.raises(ValueError, match=r"task type 't\.a' already has a handler \(handler_a\)"):
        tasks.task("t.a", agent="a")(handler_b)
    other = Blueprint()
    other.task("t.a", agent="somebody-else")(handler_b)
    with pytest.raises(ValueError, match=r"'t\.a' already has a handler"):
        Blueprint(tasks, other)
    with pytest.raises(ValueError, match=r"'t\.a' already has a handler"):
        tasks.add_tasks_from(other)
    assert tasks["t.a"].fn is handler_a


# ---- plugins ----------------------------------------------------------------------------------------


def test_a_plugin_module_in_the_tests_package_loads() -> None:
    found = load_plugins([PLUGIN])
    assert found.handlers == handlers_for_tests.tasks.handlers
    assert found["qtest.noop"].fn is handlers_for_tests.noop and found["qtest.noop"].agent == "qtest"
    assert load_plugins([PLUGIN, PLUGIN]).handlers == found.handlers  # named twice: loaded once
    assert len(load_plugins([])) == 0
    served = wiring.tasks([PLUGIN])
    assert set(served) == set(wiring.TASKS) | set(found)


@pytest.mark.parametrize(
    ("module", "says"),
    [
        ("tests.queue.no_such_plugin", "cannot import 'tests.queue.no_such_plugin'"),
        ("no_such_package.plugin", "cannot import 'no_such_package.plugin'"),
        ("tests.queue.helpers", "'tests.queue.helpers' has no `tasks` blueprint"),
        ("asyncio", "'asyncio' has no `tasks` blueprint"),  # its `tasks` is a module, not a Blueprint
    ],
)
def test_a_plugin_that_is_missing_or_has_no_blueprint_is_a_config_error(module: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_plugins([PLUGIN, module])
    assert caught.value.field == "AETHER_WORKER_HANDLER_MODULES"
    assert str(caught.value).startswith("AETHER_WORKER_HANDLER_MODULES: ") and says in str(caught.value)
    with pytest.raises(ConfigError):
        wiring.tasks([module])


def test_a_relative_module_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_plugins([".plugins"])
    assert caught.value.field == "AETHER_WORKER_HANDLER_MODULES"


# ---- hooks ------------------------------------------------------------------------------------------


async def complete_1(conn: AsyncConnection, row: dict[str, Any], result: dict[str, Any]) -> None:
    return None


async def complete_2(conn: AsyncConnection, row: dict[str, Any], result: dict[str, Any]) -> None:
    return None


async def fail_1(conn: AsyncConnection, row: dict[str, Any], message: str, final: bool) -> None:
    return None


async def fail_2(conn: AsyncConnection, row: dict[str, Any], message: str, final: bool) -> None:
    return None


def test_hooks_add_up_in_order_without_repeats() -> None:
    first = Hooks(on_complete=(complete_1,), on_fail=(fail_1,))
    second = Hooks(on_complete=(complete_2, complete_1), on_fail=(fail_2,))
    assert first + second == Hooks(on_complete=(complete_1, complete_2), on_fail=(fail_1, fail_2))
    assert second + first == Hooks(on_complete=(complete_2, complete_1), on_fail=(fail_2, fail_1))
    assert first + first == first and first + NO_HOOKS == first == NO_HOOKS + first
    assert (first + second) + first == first + (second + first)
    assert Hooks() == NO_HOOKS and NO_HOOKS.on_complete == () and NO_HOOKS.on_fail == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.on_fail = ()  # type: ignore[misc]


# ---- the task context -------------------------------------------------------------------------------


async def test_once_needs_a_guard(adb: Database, fast_settings: Settings) -> None:
    ran: list[int] = []

    async def effect() -> dict[str, Any]:
        ran.append(1)
        return {}

    with pytest.raises(RuntimeError, match="no idempotency guard"):
        await context(fast_settings, adb).once("send", effect)
    assert ran == []


async def test_once_runs_a_side_effect_once_and_replays_it_to_later_attempts(
    adb: Database, fast_settings: Settings
) -> None:
    sent: list[int] = []

    async def send() -> dict[str, Any]:
        sent.append(len(sent) + 1)
        return {"message_id": len(sent)}

    first = context(fast_settings, adb, once_impl=run_once)
    assert await first.once("send", send) == {"message_id": 1}
    retried = context(fast_settings, adb, once_impl=run_once, attempt=2)
    assert await retried.once("send", send) == {"message_id": 1}  # replayed, not sent again
    assert await retried.once("another-effect", send) == {"message_id": 2}
    other_task = context(fast_settings, adb, once_impl=run_once, task_id=8)
    assert await other_task.once("send", send) == {"message_id": 3}
    assert sent == [1, 2, 3]


def square_plus(n: int, *, plus: int = 0) -> tuple[int, str]:
    return n * n + plus, threading.current_thread().name


async def test_run_cpu_runs_off_the_event_loop(adb: Database, fast_settings: Settings) -> None:
    loop_thread = threading.current_thread().name
    value, thread = await context(fast_settings, adb).run_cpu(square_plus, 12, plus=1)
    assert value == 145 and thread != loop_thread

    pool = CpuPool("thread", 2)
    try:
        ctx = context(fast_settings, adb, cpu_impl=pool.run)
        value, thread = await ctx.run_cpu(square_plus, 3, plus=2)
        assert value == 11 and thread.startswith("aether-cpu")
        results = await asyncio.gather(*(ctx.run_cpu(square_plus, n) for n in range(6)))
        assert [v for v, _ in results] == [n * n for n in range(6)]
    finally:
        pool.close()


async def test_run_cpu_passes_errors_back(adb: Database, fast_settings: Settings) -> None:
    with pytest.raises(TypeError):
        await context(fast_settings, adb).run_cpu(square_plus, "not a number")


async def test_cancellation(adb: Database, fast_settings: Settings) -> None:
    ctx = context(fast_settings, adb)
    assert not ctx.cancelled
    ctx.raise_if_cancelled()
    ctx.cancel_event.set()
    assert ctx.cancelled
    with pytest.raises(TaskCancelled, match="task 7 was cancelled"):
        ctx.raise_if_cancelled()
    assert not context(fast_settings, adb).cancelled  # every context has its own event
