"""Property-based test of the task state machine: random sequences of queue operations on a real
database, checked step by step against a model."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from aether.config import Settings
from aether.db.pool import Database
from aether.queue import NewTask, cancel, enqueue, lifecycle
from aether.queue.control import retry
from aether.queue.lifecycle import Claimer
from aether.queue.tasks import NO_HOOKS

pytestmark = pytest.mark.slow


@dataclass
class Model:
    status: str
    attempts: int
    max_attempts: int
    priority: int
    due: int  # order of scheduled_at: set when the task (re)enters pending


def make_machine(db_settings: Settings) -> type[RuleBasedStateMachine]:
    class TaskStateMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.runner = asyncio.Runner()
            self.db = self.run(Database(db_settings, db_settings.database_url.get_secret_value()).open())  # type: ignore[union-attr]
            self.run(self.db.execute("TRUNCATE tasks CASCADE"))
            self.model: dict[int, Model] = {}
            self.held: dict[int, dict[str, Any]] = {}
            self.claimer = Claimer("prop-worker", ["p.t"], None, lease_s=60)
            self.clock = 0

        def tick(self) -> int:
            self.clock += 1
            return self.clock

        def run(self, coro: Any) -> Any:
            return self.runner.run(coro)

        def teardown(self) -> None:
            if hasattr(self, "db"):
                self.run(self.db.close())
                self.runner.close()

        @rule(priority=st.integers(0, 3), max_attempts=st.integers(1, 3))
        def enqueue(self, priority: int, max_attempts: int) -> None:
            async def go() -> list[int]:
                async with self.db.transaction() as conn:
                    return await enqueue(conn, NewTask("p.t", "prop", {}, priority=priority, max_attempts=max_attempts))

            (task_id,) = self.run(go())
            self.model[task_id] = Model("pending", 0, max_attempts, priority, self.tick())

        @rule(batch=st.integers(1, 3))
        def claim(self, batch: int) -> None:
            async def go() -> list[dict[str, Any]]:
                async with self.db.connection() as conn:
                    return await lifecycle.claim(conn, self.claimer, batch)

            rows = self.run(go())
            pending = sorted((-m.priority, m.due, i) for i, m in self.model.items() if m.status == "pending")
            expected = [i for _, _, i in pending[:batch]]
            assert [r["id"] for r in rows] == expected
            for row in rows:
                model = self.model[row["id"]]
                model.status, model.attempts = "in_progress", model.attempts + 1
                self.held[row["id"]] = row

        def _pick(self, data: st.DataObject) -> dict[str, Any] | None:
            if not self.held:
                return None
            task_id = data.draw(st.sampled_from(sorted(self.held)))
            return self.held.pop(task_id)

        @rule(data=st.data())
        def complete(self, data: st.DataObject) -> None:
            row = self._pick(data)
            if row is None:
                return

            async def go() -> list[int]:
                async with self.db.connection() as conn:
                    return await lifecycle.complete(conn, self.claimer, [(row, {"ok": row["id"]})])

            assert self.run(go()) == [row["id"]]
            self.model[row["id"]].status = "completed"

        @rule(data=st.data(), permanent=st.booleans())
        def fail(self, data: st.DataObject, permanent: bool) -> None:
            row = self._pick(data)
            if row is None:
                return

            async def go() -> dict[str, Any] | None:
                async with self.db.connection() as conn:
                    outcome = "failed" if permanent else "retry"
                    return await lifecycle.fail(conn, self.claimer, row, "boom", None, outcome, 0.0)

            updated = self.run(go())
            model = self.model[row["id"]]
            model.status = "failed" if permanent or model.attempts >= model.max_attempts else "pending"
            model.due = self.tick()
            assert updated is not None and updated["status"] == model.status

        @rule(data=st.data())
        def lease_expires(self, data: st.DataObject) -> None:
            row = self._pick(data)
            if row is None:
                return

            async def go() -> list[dict[str, Any]]:
                await self.db.execute(
                    "UPDATE tasks SET lease_expires_at = lease_expires_at - interval '1 hour' WHERE id = %s",
                    (row["id"],),
                )
                async with self.db.connection() as conn:
                    return await lifecycle.rescue(conn, hooks=NO_HOOKS)

            rescued = self.run(go())
            model = self.model[row["id"]]
            model.status = "failed" if model.attempts >= model.max_attempts else "pending"
            model.due = self.tick()
            assert [(r["id"], r["status"]) for r in rescued] == [(row["id"], model.status)]

        @rule(data=st.data())
        def cancel_task(self, data: st.DataObject) -> None:
            if not self.model:
                return
            task_id = data.draw(st.sampled_from(sorted(self.model)))

            async def go() -> bool:
                async with self.db.transaction() as conn:
                    return await cancel(conn, task_id, hooks=NO_HOOKS)

            model = self.model[task_id]
            assert self.run(go()) == (model.status in ("pending", "in_progress"))
            if model.status == "pending":
                model.status = "cancelled"
            elif model.status == "in_progress":
                # a running task is only flagged; its worker reports the cancellation
                row = self.held.pop(task_id)

                async def report() -> dict[str, Any] | None:
                    async with self.db.connection() as conn:
                        return await lifecycle.fail(conn, self.claimer, row, "cancelled", None, "cancelled", 0.0)

                assert self.run(report()) is not None
                model.status = "cancelled"

        @rule(data=st.data())
        def retry_task(self, data: st.DataObject) -> None:
            finished = sorted(i for i, m in self.model.items() if m.status in ("failed", "cancelled"))
            if not finished:
                return
            task_id = data.draw(st.sampled_from(finished))

            async def go() -> dict[str, Any]:
                async with self.db.transaction() as conn:
                    return await retry(conn, task_id)

            self.run(go())
            model = self.model[task_id]
            model.status, model.attempts, model.due = "pending", 0, self.tick()

        @invariant()
        def database_matches_model(self) -> None:
            if not hasattr(self, "db"):
                return
            rows = self.run(self.db.fetch_all("SELECT * FROM tasks"))
            assert {r["id"]: (r["status"], r["attempts"]) for r in rows} == {
                i: (m.status, m.attempts) for i, m in self.model.items()
            }
            for r in rows:
                assert (r["lease_expires_at"] is not None) == (r["status"] == "in_progress")
                assert (r["completed_at"] is not None) == (r["status"] in ("completed", "failed", "cancelled"))
                if r["status"] == "completed":
                    assert r["result"] == {"ok": r["id"]}
                if r["status"] == "failed":
                    assert r["last_error"]["message"]

    return TaskStateMachine


def test_task_state_machine(settings: Settings) -> None:
    machine = make_machine(settings)
    machine.TestCase.settings = settings_profile
    machine.TestCase().runTest()


settings_profile = settings(
    max_examples=8, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck)
)
