"""Real `aether worker` / `aether scheduler` processes for the queue's process-level tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = "tests.queue.handlers_for_tests"
FAST_ENV = {
    "AETHER_QUEUE_LEASE_S": "1.5",
    "AETHER_QUEUE_RESCUE_INTERVAL_S": "0.2",
    "AETHER_QUEUE_RETRY_BASE_S": "0.05",
    "AETHER_QUEUE_POLL_INTERVAL_S": "0.3",
    "AETHER_POOL_MIN_SIZE": "1",
    "AETHER_POOL_MAX_SIZE": "6",
    "AETHER_WORKER_CPU_POOL": "thread",
}


def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    full_env = {**env, **FAST_ENV, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "aether.cli", *args],
        env=full_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def spawn_worker(env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return spawn(["worker", "--handlers", HANDLERS, *extra], env)


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 30) -> str:
    """Signal the process, wait for it, and return what it printed."""
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""
