"""The worker: claims batches of tasks, runs their handlers, completes them in batches.

* Claims up to `concurrency + prefetch` tasks at once (FOR UPDATE SKIP LOCKED); each carries a lease
  that a heartbeat renews every third of its length.
* Wakes on LISTEN/NOTIFY (channel `aether_tasks`), and polls every AETHER_QUEUE_POLL_INTERVAL_S as a
  fallback (or as the only way when AETHER_DATABASE_LISTEN=false), sooner when a scheduled task is due.
* Completions are written in batches: one transaction marks many tasks completed and runs the
  ON_COMPLETE hooks. A failure is written at once (ON_FAIL hooks in the same transaction).
* Cancellation: a cancelled running task gets `ctx.cancel_event` set; after AETHER_WORKER_CANCEL_GRACE_S
  its handler is cancelled outright.
* SIGTERM: no new claims, claimed-but-unstarted tasks are released, tasks in hand finish (up to
  AETHER_WORKER_SHUTDOWN_TIMEOUT_S, then they are stopped and re-queued). SIGKILL: leases expire and
  any worker's rescue loop re-queues the tasks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import logging
import multiprocessing
import os
import pickle
import socket
import traceback
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from aether.config import Settings
from aether.db.pool import AsyncConnection, Database, connect_async
from aether.errors import AetherError, DatabaseUnavailable, PermanentError, TaskCancelled
from aether.logs import task_id_var, workflow_id_var
from aether.queue import lifecycle
from aether.queue.control import CANCEL_CHANNEL
from aether.queue.lifecycle import Claimer, TaskRow
from aether.queue.tasks import JSON, HandlerSpec, Hooks, TaskContext

log = logging.getLogger(__name__)

TASKS_CHANNEL = "aether_tasks"
ERROR_RETRY_S = 1.0
ERROR_RETRY_MAX_S = 8.0
# What a database outage (restart, fail-over, network) raises here: the worker waits and tries again.
DB_ERRORS: tuple[type[Exception], ...] = (psycopg.Error, OSError, DatabaseUnavailable)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _reason(exc: BaseException) -> lifecycle.Reason | None:
    """An Aether error's code and message, for the person who reads why a task failed."""
    return lifecycle.Reason(exc.code, exc.message) if isinstance(exc, AetherError) else None


class CpuPool:
    """ctx.run_cpu's executor: a process pool (forkserver) or a thread pool, created on first use."""

    def __init__(self, kind: str, workers: int | None) -> None:
        self.kind = kind
        self.workers = workers or os.cpu_count() or 1
        self._pool: concurrent.futures.Executor | None = None
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.Executor:
        if self._pool is None:
            if self.kind == "process":
                context = multiprocessing.get_context("forkserver")
                self._pool = concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=context)
            else:
                self._pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="aether-cpu")
        return self._pool

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        call = functools.partial(fn, *args, **kwargs)
        loop = asyncio.get_running_loop()
        if self.kind == "process":
            try:
                pickle.dumps(call)
            except (pickle.PicklingError, AttributeError, TypeError):
                # closures and lambdas cannot cross a process boundary: run them on a thread instead
                if self._threads is None:
                    self._threads = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="aether-cpu")
                return await loop.run_in_executor(self._threads, call)
        return await loop.run_in_executor(self._executor(), call)

    def close(self) -> None:
        for pool in (self._pool, self._threads):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class Running:
    row: TaskRow
    ctx: TaskContext
    task: asyncio.Task[None] | None = None
    cancel_requested: bool = False
    stopping: bool = False


@dataclass
class WorkerOptions:
    agents: Sequence[str] | None = None
    concurrency: int = 10
    prefetch: int = 0
    worker_id: str = field(default_factory=new_worker_id)
    listen: bool = True


OnceImpl = Callable[[TaskContext, str, Callable[[], Awaitable[JSON]]], Awaitable[JSON]]


class Worker:
    """Runs the `handlers` it is given; `hooks` run in the transaction that finishes each task, and `once`
    is the idempotency guard behind `ctx.once` (aether.idempotency.run_once)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        handlers: Mapping[str, HandlerSpec],
        options: WorkerOptions,
        *,
        hooks: Hooks,
        once: OnceImpl | None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.options = options
        agents = set(options.agents) if options.agents else None
        self.handlers = {t: h for t, h in handlers.items() if agents is None or h.agent in agents}
        self.claimer = Claimer(
            worker=options.worker_id,
            types=sorted(self.handlers),
            agents=sorted(agents) if agents else None,
            lease_s=settings.queue_lease_s,
            hooks=hooks,
        )
        self.capacity = options.concurrency + options.prefetch
        self.ready: deque[TaskRow] = deque()
        self.running: dict[int, Running] = {}
        self.unflushed: list[tuple[TaskRow, dict[str, Any]]] = []
        self.flushing: set[int] = set()
        self.wakeup = asyncio.Event()
        self.slot_freed = asyncio.Event()
        self.flush_needed = asyncio.Event()
        self.stop_event = asyncio.Event()
        self.hard_stop = asyncio.Event()
        self.ready_event = asyncio.Event()
        self.cpu = CpuPool(settings.worker_cpu_pool, settings.worker_cpu_workers)
        self.once = once
        self.completed = 0
        self.failed = 0
        self._backlog = True
        self._side: list[asyncio.Task[None]] = []
        self._claim_conn: AsyncConnection | None = None

    # ---- public ------------------------------------------------------------------------------

    def request_stop(self, *, hard: bool = False) -> None:
        self.stop_event.set()
        if hard:
            self.hard_stop.set()
        self.wakeup.set()

    async def run(self) -> None:
        if not self.handlers:
            raise RuntimeError("this worker has no task handlers for its agents")
        self._side = [
            asyncio.create_task(self._completer(), name="aether-completer"),
            asyncio.create_task(self._heartbeats(), name="aether-heartbeat"),
            asyncio.create_task(self._rescuer(), name="aether-rescue"),
        ]
        if self.options.listen:
            self._side.append(asyncio.create_task(self._listener(), name="aether-listen"))
        log.info(
            "worker %s ready: agents %s, %d task types, concurrency %d",
            self.claimer.worker,
            ",".join(self.claimer.agents) if self.claimer.agents else "all",
            len(self.claimer.types),
            self.options.concurrency,
        )
        self.ready_event.set()
        try:
            await self._claim_loop()
        finally:
            await self._shutdown()

    # ---- claiming ----------------------------------------------------------------------------

    def free_slots(self) -> int:
        return self.capacity - len(self.running) - len(self.ready)

    async def _claim_loop(self) -> None:
        poll = self.settings.queue_poll_interval_s
        failures = 0
        while not self.stop_event.is_set():
            self._dispatch()
            free = self.free_slots()
            timeout = poll
            if free > 0:
                self.wakeup.clear()
                try:
                    timeout = await self._claim(free, poll)
                    if failures:
                        log.info("claiming works again after %d failed attempt(s)", failures)
                    failures = 0
                except DB_ERRORS as exc:
                    failures += 1
                    delay = min(ERROR_RETRY_MAX_S, ERROR_RETRY_S * 2 ** min(failures - 1, 10))
                    log.warning("claiming failed (%s); trying again in %.1fs", exc, delay)
                    with contextlib.suppress(TimeoutError):  # back off, whatever wakes the loop meanwhile
                        await asyncio.wait_for(self.stop_event.wait(), timeout=delay)
                    continue
            await self._wait(timeout)

    async def _claim_connection(self) -> AsyncConnection:
        """The worker's own autocommit connection for claims (a claim is one round trip, and need not
        wait for its WAL flush: a claim lost in a server crash only leaves the task pending)."""
        if self._claim_conn is None or self._claim_conn.closed:
            conn = await connect_async(
                self.db.url,
                self.settings,
                autocommit=True,
                application="aether-claim",
                role=self.settings.database_role,
            )
            # Without LISTEN (the PgBouncer transaction-mode setting) a session SET would leak to other
            # clients of the same server connection: claims then stay durable instead.
            if self.settings.database_listen:
                try:
                    await conn.execute("SET synchronous_commit TO off")
                except psycopg.Error:
                    log.info("cannot relax synchronous_commit on the claim connection; claims stay durable")
            self._claim_conn = conn
        return self._claim_conn

    async def _claim(self, free: int, poll: float) -> float:
        """Claim up to `free` tasks; returns how long to wait before looking again."""
        try:
            conn = await self._claim_connection()
            rows = await lifecycle.claim(conn, self.claimer, free)
        except DB_ERRORS:
            if self._claim_conn is not None:
                with contextlib.suppress(Exception):
                    await self._claim_conn.close()
            self._claim_conn = None
            raise
        self.ready.extend(rows)
        self._dispatch()
        self._backlog = len(rows) == free
        if self._backlog:
            return poll
        async with self.db.connection() as pooled:
            wait = await lifecycle.next_due_s(pooled, self.claimer)
        if wait is None:
            return poll
        if wait <= 0:  # due work we could not get (locked by another claimer, or over a limit)
            self._backlog = bool(rows)
            return poll
        return min(poll, wait)

    async def _wait(self, timeout: float) -> None:
        """Sleep until there may be work this worker can take (or `timeout`, the polling fallback)."""
        if self.stop_event.is_set():
            return
        if self.free_slots() > 0:
            if self.wakeup.is_set() or self._backlog:
                return
            waiters = [asyncio.create_task(self.wakeup.wait())]
        else:
            self.slot_freed.clear()
            if self.free_slots() > 0:
                return
            waiters = [asyncio.create_task(self.slot_freed.wait())]
        waiters.append(asyncio.create_task(self.stop_event.wait()))
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _dispatch(self) -> None:
        while self.ready and len(self.running) < self.options.concurrency and not self.stop_event.is_set():
            row = self.ready.popleft()
            entry = Running(row, self._context(row))
            self.running[row["id"]] = entry
            entry.task = asyncio.create_task(self._execute(entry), name=f"aether-task-{row['id']}")

    def _context(self, row: TaskRow) -> TaskContext:
        ctx = TaskContext(
            task_id=row["id"],
            task_type=row["task_type"],
            agent=row["agent_name"] or "",
            attempt=row["attempts"],
            settings=self.settings,
            db=self.db,
            workflow_id=str(row["workflow_id"]) if row["workflow_id"] is not None else None,
            step_name=row["step_name"],
            once_impl=self.once,
            cpu_impl=self.cpu.run,
        )
        if row["cancel_requested"]:
            ctx.cancel_event.set()
        return ctx

    # ---- running -----------------------------------------------------------------------------

    async def _execute(self, entry: Running) -> None:
        row, ctx = entry.row, entry.ctx
        task_id_var.set(row["id"])
        workflow_id_var.set(ctx.workflow_id)
        spec = self.handlers[row["task_type"]]
        try:
            if row["cancel_requested"]:
                raise TaskCancelled(f"task {row['id']} was cancelled before it started")
            payload = row["payload"] if isinstance(row["payload"], dict) else {}
            call = spec.fn(ctx, payload)
            result = await (asyncio.wait_for(call, spec.timeout_s) if spec.timeout_s else call)
            if result is None:
                result = {}
            if not isinstance(result, dict):
                raise PermanentError(f"handler returned {type(result).__name__}; it must return a dict")
            try:
                json.dumps(result)
            except (TypeError, ValueError) as exc:
                raise PermanentError(f"handler returned a result that is not JSON: {exc}") from None
        except asyncio.CancelledError:
            if entry.cancel_requested:
                await self._record_failure(entry, "cancelled", None, "cancelled")
            else:
                await self._record_failure(entry, "worker stopped before the task finished", None, "retry", 0.0)
            return
        except TaskCancelled as exc:
            await self._record_failure(entry, str(exc) or "cancelled", None, "cancelled")
            return
        except PermanentError as exc:
            await self._record_failure(
                entry, f"{type(exc).__name__}: {exc}", traceback.format_exc(), "failed", reason=_reason(exc)
            )
            return
        except TimeoutError:
            message = f"handler timed out after {spec.timeout_s}s"
            await self._record_failure(entry, message, traceback.format_exc(), "retry")
            return
        except Exception as exc:
            outcome: lifecycle.Outcome = "cancelled" if entry.cancel_requested else "retry"
            await self._record_failure(
                entry, f"{type(exc).__name__}: {exc}", traceback.format_exc(), outcome, reason=_reason(exc)
            )
            return
        self.unflushed.append((row, result))
        self.flushing.add(row["id"])
        self.flush_needed.set()
        self._finished(row["id"])

    def _finished(self, task_id: int) -> None:
        self.running.pop(task_id, None)
        self.slot_freed.set()

    async def _record_failure(
        self,
        entry: Running,
        message: str,
        tb: str | None,
        outcome: lifecycle.Outcome,
        delay_s: float | None = None,
        *,
        reason: lifecycle.Reason | None = None,
    ) -> None:
        row = entry.row
        if delay_s is None:
            delay_s = lifecycle.backoff_s(
                row["attempts"], self.settings.queue_retry_base_s, self.settings.queue_retry_max_s
            )
        try:
            for attempt in range(3):
                try:
                    async with self.db.connection() as conn:
                        updated = await lifecycle.fail(conn, self.claimer, row, message, tb, outcome, delay_s, reason)
                    break
                except DB_ERRORS as exc:
                    if attempt == 2:
                        log.error("could not record the failure of task %s (%s); its lease will expire", row["id"], exc)
                        return
                    await asyncio.sleep(ERROR_RETRY_S)
            self.failed += 1
            if updated is not None:
                log.warning(
                    "task %s (%s) attempt %d: %s -> %s",
                    row["id"],
                    row["task_type"],
                    row["attempts"],
                    message,
                    updated["status"],
                )
        finally:
            self._finished(row["id"])

    async def _completer(self) -> None:
        """Write finished tasks in batches: whatever finished while the previous batch was committing."""
        while True:
            await self.flush_needed.wait()
            self.flush_needed.clear()
            while self.unflushed:
                batch, self.unflushed = self.unflushed, []
                try:
                    async with self.db.connection() as conn:
                        await lifecycle.complete(
                            conn,
                            self.claimer,
                            batch,
                            retry_base_s=self.settings.queue_retry_base_s,
                            retry_max_s=self.settings.queue_retry_max_s,
                        )
                except DB_ERRORS as exc:
                    log.warning("completing %d task(s) failed (%s); trying again", len(batch), exc)
                    self.unflushed[:0] = batch
                    await asyncio.sleep(ERROR_RETRY_S)
                    continue
                self.completed += len(batch)
                for row, _ in batch:
                    self.flushing.discard(row["id"])

    # ---- leases, cancellation, rescue --------------------------------------------------------

    def held_ids(self) -> list[int]:
        return [*self.running, *(row["id"] for row in self.ready), *self.flushing]

    async def _heartbeats(self) -> None:
        interval = self.settings.queue_lease_s / 3
        while True:
            await asyncio.sleep(interval)
            ids = self.held_ids()
            if not ids:
                continue
            try:
                async with self.db.connection() as conn:
                    held = await lifecycle.heartbeat(conn, self.claimer, ids)
            except DB_ERRORS as exc:
                log.warning("heartbeat failed (%s)", exc)
                continue
            for task_id in ids:
                if task_id not in held and task_id in self.running:
                    log.warning("task %s: lease lost (rescued elsewhere); its result will be discarded", task_id)
                    self.running[task_id].ctx.cancel_event.set()
                elif held.get(task_id):
                    self.cancel(task_id)

    def cancel(self, task_id: int) -> None:
        """A cancellation request for a task this worker holds."""
        for row in list(self.ready):
            if row["id"] == task_id:
                self.ready.remove(row)
                row["cancel_requested"] = True
                unstarted = Running(row, self._context(row))
                self.running[task_id] = unstarted
                unstarted.task = asyncio.create_task(self._execute(unstarted))
                return
        entry = self.running.get(task_id)
        if entry is None or entry.cancel_requested:
            return
        entry.cancel_requested = True
        entry.ctx.cancel_event.set()
        log.info(
            "task %s: cancellation requested; the handler has %.0fs to stop",
            task_id,
            self.settings.worker_cancel_grace_s,
        )
        asyncio.get_running_loop().call_later(self.settings.worker_cancel_grace_s, self._force_cancel, task_id, entry)

    def _force_cancel(self, task_id: int, entry: Running) -> None:
        if self.running.get(task_id) is entry and entry.task is not None and not entry.task.done():
            entry.task.cancel()

    async def _rescuer(self) -> None:
        while True:
            await asyncio.sleep(self.settings.queue_rescue_interval_s)
            try:
                async with self.db.connection() as conn:
                    await lifecycle.rescue(conn, hooks=self.claimer.hooks)
            except DB_ERRORS as exc:
                log.warning("rescue failed (%s)", exc)

    async def _listener(self) -> None:
        agents = set(self.claimer.agents) if self.claimer.agents else None
        while True:
            conn: AsyncConnection | None = None
            try:
                conn = await connect_async(
                    self.db.url,
                    self.settings,
                    autocommit=True,
                    application="aether-listen",
                    role=self.settings.database_role,
                )
                await conn.execute(f"LISTEN {TASKS_CHANNEL}")
                await conn.execute(f"LISTEN {CANCEL_CHANNEL}")
                self.wakeup.set()  # anything enqueued while we were not listening
                async for note in conn.notifies():
                    if note.channel == CANCEL_CHANNEL:
                        with contextlib.suppress(ValueError):
                            self.cancel(int(note.payload))
                    elif agents is None or not note.payload or note.payload in agents:
                        self.wakeup.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN connection lost (%s); polling until it is back", exc)
                await asyncio.sleep(ERROR_RETRY_S)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()

    # ---- stopping ----------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        unstarted = [row["id"] for row in self.ready]
        self.ready.clear()
        if unstarted:
            try:
                async with self.db.connection() as conn:
                    released = await lifecycle.release(conn, self.claimer, unstarted)
                log.info("released %d claimed but unstarted task(s)", len(released))
            except DB_ERRORS as exc:
                log.warning("could not release %d task(s) (%s); their leases will expire", len(unstarted), exc)
        tasks = [entry.task for entry in self.running.values() if entry.task is not None]
        if tasks:
            log.info("waiting for %d task(s) in hand to finish", len(tasks))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.settings.worker_shutdown_timeout_s
            hard = asyncio.create_task(self.hard_stop.wait())
            pending = {t for t in tasks if not t.done()}
            while pending and not hard.done() and loop.time() < deadline:
                await asyncio.wait(
                    [*pending, hard], timeout=deadline - loop.time(), return_when=asyncio.FIRST_COMPLETED
                )
                pending = {t for t in pending if not t.done()}
            hard.cancel()
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        deadline_flush = asyncio.get_running_loop().time() + 30
        while (self.unflushed or self.flushing) and asyncio.get_running_loop().time() < deadline_flush:
            self.flush_needed.set()
            await asyncio.sleep(0.01)
        for side in self._side:
            side.cancel()
        await asyncio.gather(*self._side, return_exceptions=True)
        self.cpu.close()
        if self._claim_conn is not None:
            with contextlib.suppress(Exception):
                await self._claim_conn.close()
        log.info(
            "worker %s stopped: %d completed, %d failed attempts", self.claimer.worker, self.completed, self.failed
        )
