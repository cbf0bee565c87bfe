"""Queue benchmark: Aether's task queue against pgqueuer and procrastinate, on the same database.

Starts an embedded PostgreSQL in a temporary AETHER_HOME (durable commits: synchronous_commit=on),
installs the three queues' schemas in one database, then for each queue: starts worker processes,
enqueues N no-op tasks in batches and measures end-to-end throughput (first enqueue -> last task
completed). Aether runs with 1 and with 2 worker processes; the peers with 2 (the same work). Then
measures enqueue-to-start latency with idle Aether workers (one task at a time).

Every peer runs at its best documented setting, printed beside its figure (SETTINGS); where Aether
falls behind a peer, a note says by how much.

Usage: .venv/bin/python bench/queue.py [--tasks 5000] [--batch 500] [--latency-samples 200]
Last line: aether_tasks_per_s=N pgqueuer_tasks_per_s=N procrastinate_tasks_per_s=N latency_p50_ms=X
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's directory heads sys.path and `queue.py` would shadow the stdlib's `queue`.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import psycopg  # noqa: E402

AGENT = "bench"
CONCURRENCY = 100
# Each peer at its best documented setting: pgqueuer's QueueManager.run fetches `batch_size` jobs per
# dequeue (library default 10; 100 drains about twice as fast as 10); procrastinate runs `concurrency`
# jobs at once, each holding a pool connection.
PEER_BATCH = 100
PROCRASTINATE_CONCURRENCY = 20
SETTINGS = {
    "aether": f"concurrency={CONCURRENCY} prefetch={CONCURRENCY}",
    "pgqueuer": f"batch_size={PEER_BATCH} dequeue_timeout=1s",
    "procrastinate": f"concurrency={PROCRASTINATE_CONCURRENCY}",
}


# ---- worker processes --------------------------------------------------------------------------


async def aether_worker(url: str, concurrency: int) -> None:
    from aether.config import load_settings
    from aether.db.pool import Database
    from aether.queue.tasks import NO_HOOKS, Blueprint, TaskContext
    from aether.queue.worker import Worker, WorkerOptions

    tasks = Blueprint()

    @tasks.task("bench.noop", agent=AGENT)
    async def noop(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
        return {}

    @tasks.task("bench.latency", agent=AGENT)
    async def latency(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
        return {"started": time.time()}

    settings = load_settings(database_url=url, pool_min_size=4, pool_max_size=8, log_level="WARNING")
    async with Database(settings, url, name="bench-worker") as db:
        options = WorkerOptions(concurrency=concurrency, prefetch=concurrency)
        worker = Worker(settings, db, tasks.handlers, options, hooks=NO_HOOKS, once=None)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, worker.request_stop)
        run = asyncio.create_task(worker.run())
        await worker.ready_event.wait()
        print("READY", flush=True)
        await run


async def pgqueuer_worker(url: str, concurrency: int) -> None:
    from datetime import timedelta

    from pgqueuer.db import PsycopgDriver
    from pgqueuer.qm import QueueManager
    from pgqueuer.queries import Queries

    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    qm = QueueManager(Queries(PsycopgDriver(conn)))

    @qm.entrypoint("noop")
    async def noop(job: Any) -> None:
        return None

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, qm.shutdown.set)
    print("READY", flush=True)
    await qm.run(batch_size=PEER_BATCH, dequeue_timeout=timedelta(seconds=1))


async def procrastinate_worker(url: str, concurrency: int) -> None:
    import procrastinate

    # procrastinate fetches one job per query; each concurrent slot holds a connection while it works
    slots = min(concurrency, PROCRASTINATE_CONCURRENCY)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url, min_size=2, max_size=slots + 2))

    @app.task(name="noop")
    async def noop() -> None:
        return None

    async with app.open_async():
        print("READY", flush=True)
        await app.run_worker_async(concurrency=slots, wait=True, install_signal_handlers=True)


WORKERS = {"aether": aether_worker, "pgqueuer": pgqueuer_worker, "procrastinate": procrastinate_worker}


def start_workers(system: str, url: str, count: int) -> list[subprocess.Popen[str]]:
    procs = [
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--role", "worker", "--system", system, "--url", url],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError(f"{system} worker did not start (exit {proc.poll()})")
    time.sleep(0.5)  # let LISTEN connections settle before the clock starts
    return procs


def stop_workers(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- producers ---------------------------------------------------------------------------------


def wait_until(conn: psycopg.Connection[Any], sql: str, target: int, timeout: float = 300) -> float:
    deadline = time.perf_counter() + timeout
    while True:
        row = conn.execute(sql).fetchone()
        if row is not None and int(row[0]) >= target:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {sql} to reach {target} (at {row})")
        time.sleep(0.02)


async def aether_enqueue(url: str, total: int, batch: int) -> None:
    from aether.config import load_settings
    from aether.db.pool import Database
    from aether.queue import NewTask, enqueue

    settings = load_settings(database_url=url, pool_min_size=1, pool_max_size=2)
    async with Database(settings, url, name="bench-producer") as db:
        for start in range(0, total, batch):
            async with db.transaction() as conn:
                await enqueue(
                    conn, [NewTask("bench.noop", AGENT, {"i": i}) for i in range(start, min(total, start + batch))]
                )


async def pgqueuer_enqueue(url: str, total: int, batch: int) -> None:
    from pgqueuer.db import PsycopgDriver
    from pgqueuer.queries import Queries

    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    queries = Queries(PsycopgDriver(conn))
    for start in range(0, total, batch):
        n = min(total, start + batch) - start
        await queries.enqueue(["noop"] * n, [json.dumps({"i": i}).encode() for i in range(start, start + n)], [0] * n)
    await conn.close()


async def procrastinate_enqueue(url: str, total: int, batch: int) -> None:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url, min_size=1, max_size=2))

    @app.task(name="noop")
    async def noop() -> None:
        return None

    async with app.open_async():
        for start in range(0, total, batch):
            await noop.batch_defer_async(*({} for _ in range(start, min(total, start + batch))))


def run_throughput(system: str, url: str, processes: int, total: int, batch: int) -> float:
    done_sql = {
        "aether": "SELECT count(*) FROM tasks WHERE task_type = 'bench.noop' AND status = 'completed'",
        "pgqueuer": "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'",
        "procrastinate": "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'",
    }[system]
    enqueue = {"aether": aether_enqueue, "pgqueuer": pgqueuer_enqueue, "procrastinate": procrastinate_enqueue}[system]
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(done_sql).fetchone()
        before = int(row[0]) if row else 0
        procs = start_workers(system, url, processes)
        try:
            started = time.perf_counter()
            asyncio.run(enqueue(url, total, batch))
            finished = wait_until(conn, done_sql, before + total)
        finally:
            stop_workers(procs)
    rate = total / (finished - started)
    print(
        f"{system:<14} {processes} worker process(es): {total} tasks in {finished - started:6.2f} s"
        f" = {rate:8.0f} tasks/s  ({SETTINGS[system]})"
    )
    return rate


async def run_latency(url: str, samples: int) -> list[float]:
    from aether.config import load_settings
    from aether.db.pool import Database
    from aether.queue import NewTask, enqueue

    settings = load_settings(database_url=url, pool_min_size=1, pool_max_size=2)
    procs = start_workers("aether", url, 2)
    latencies: list[float] = []
    try:
        async with Database(settings, url, name="bench-latency") as db:
            for i in range(samples):
                async with db.transaction() as conn:
                    (task_id,) = await enqueue(conn, NewTask("bench.latency", AGENT, {"i": i}))
                committed = time.time()  # the task exists for workers from its commit on
                deadline = time.perf_counter() + 30
                while True:
                    row = await db.fetch_one("SELECT status, result FROM tasks WHERE id = %s", (task_id,))
                    if row is not None and row["status"] == "completed":
                        latencies.append((float(row["result"]["started"]) - committed) * 1000)
                        break
                    if time.perf_counter() > deadline:
                        raise RuntimeError(f"latency task {task_id} did not complete")
                    await asyncio.sleep(0.002)
                await asyncio.sleep(0.01)  # workers idle again before the next sample
    finally:
        stop_workers(procs)
    return latencies


# ---- set-up ------------------------------------------------------------------------------------


def prepare(url: str) -> None:
    from aether.config import load_settings
    from aether.db import migrate
    from aether.db.pool import connect

    with connect(url, load_settings(database_url=url), autocommit=True) as conn:
        migrate.migrate(conn)
        row = conn.execute("SHOW synchronous_commit").fetchone()
        print(f"synchronous_commit={row['synchronous_commit'] if row else '?'}")

    async def peers() -> None:
        from pgqueuer.db import PsycopgDriver
        from pgqueuer.queries import Queries

        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        await Queries(PsycopgDriver(conn)).install()
        await conn.close()

        import procrastinate

        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))
        async with app.open_async():
            await app.schema_manager.apply_schema_async()

    asyncio.run(peers())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=5000, help="No-op tasks per throughput run.")
    parser.add_argument("--batch", type=int, default=500, help="Tasks per enqueue call.")
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--role", default="main", choices=["main", "worker"])
    parser.add_argument("--system", default="aether", choices=sorted(WORKERS))
    parser.add_argument("--url", default=None, help="Use this database instead of a fresh embedded one.")
    args = parser.parse_args()

    if args.role == "worker":
        asyncio.run(WORKERS[args.system](args.url, CONCURRENCY))
        return

    with tempfile.TemporaryDirectory(prefix="aether-bench-") as home:
        from aether.db.embedded import EmbeddedServer

        server = EmbeddedServer(Path(home))
        url = args.url
        try:
            if url is None:
                url = server.ensure_running()
            prepare(url)
            aether_1 = run_throughput("aether", url, 1, args.tasks, args.batch)
            aether_2 = run_throughput("aether", url, 2, args.tasks, args.batch)
            pgq = run_throughput("pgqueuer", url, 2, args.tasks, args.batch)
            proc = run_throughput("procrastinate", url, 2, args.tasks, args.batch)
            latencies = asyncio.run(run_latency(url, args.latency_samples))
        finally:
            if args.url is None:
                server.stop(mode="immediate")
    p50 = statistics.median(latencies)
    p95 = sorted(latencies)[int(len(latencies) * 0.95) - 1]
    print(f"aether 1 process: {aether_1:.0f} tasks/s; 2 processes: {aether_2:.0f} tasks/s")
    for peer, rate in (("pgqueuer", pgq), ("procrastinate", proc)):
        if rate > aether_2:
            print(
                f"note: aether (2 processes, {SETTINGS['aether']}) is {1 - aether_2 / rate:.0%} behind {peer}"
                f" ({SETTINGS[peer]}): {aether_2:.0f} against {rate:.0f} tasks/s"
            )
    print(f"enqueue-to-start latency over {len(latencies)} samples: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    print(
        f"aether_tasks_per_s={aether_2:.0f} pgqueuer_tasks_per_s={pgq:.0f} "
        f"procrastinate_tasks_per_s={proc:.0f} latency_p50_ms={p50:.2f}"
    )


if __name__ == "__main__":
    main()
