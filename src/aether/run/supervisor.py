"""`aether api --workers N`: N gateway processes on one port, watched by this one.

Each worker listens on its own socket with SO_REUSEPORT, so the kernel spreads new connections evenly
over the workers (with one shared socket, the worker that wakes first accepts a whole burst of
keep-alive connections and serves them alone while the others idle). Where SO_REUSEPORT is missing, the
workers share one socket made here.

The supervisor restarts a worker that dies and stops when workers keep dying at start-up. SIGTERM or
SIGINT stops every worker gracefully (uvicorn finishes the requests in flight), then exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from aether.errors import AetherError

log = logging.getLogger(__name__)

STARTUP_FAILURE = 3  # a worker's exit code when its server could not start
QUICK_DEATH_S = 10.0  # a worker that dies sooner than this after its start counts as a start-up failure
MAX_QUICK_DEATHS = 5  # in a row: then the supervisor gives up
STOP_TIMEOUT_S = 30.0

REUSE_PORT = hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


def listening_socket(host: str, port: int, *, reuse_port: bool, backlog: int = 2048) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def check_port_free(host: str, port: int) -> None:
    """Fail now, with a clear error, when something already listens on host:port (this binds without
    SO_REUSEPORT, which no listening socket allows)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise AetherError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="port") from None


def _worker_main(run: Callable[[list[socket.socket]], bool], host: str, port: int, shared: Any) -> None:
    """A worker process: its own SO_REUSEPORT socket (or the shared one), then the server until a signal."""
    sock = shared if shared is not None else listening_socket(host, port, reuse_port=True)
    try:
        started = run([sock])
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; uvicorn re-raises it once stopped
        started = True
    sys.exit(0 if started else STARTUP_FAILURE)


@dataclass
class _Slot:
    process: BaseProcess
    started_at: float = field(default_factory=time.monotonic)


def run_workers(run: Callable[[list[socket.socket]], bool], host: str, port: int, workers: int) -> None:
    """Run `run(sockets)` (serves until a signal; True when the server started) in `workers` processes.

    `run` must be picklable (a module-level function or a picklable callable): workers are spawned."""
    check_port_free(host, port)
    shared = None if REUSE_PORT else listening_socket(host, port, reuse_port=False)
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> _Slot:
        process = context.Process(target=_worker_main, args=(run, host, port, shared), name="aether-api-worker")
        # A worker starts with Ctrl-C ignored (an ignored SIGINT survives exec and Python keeps it so): a
        # Ctrl-C while it imports would end it with a traceback. Serving, uvicorn handles SIGINT itself;
        # before that, this supervisor stops it with SIGTERM.
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.start()
        finally:
            signal.signal(signal.SIGINT, handler)
        return _Slot(process)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    slots = [start() for _ in range(workers)]
    quick_deaths = 0
    try:
        while not stopping:
            multiprocessing.connection.wait([s.process.sentinel for s in slots], timeout=0.5)
            for index, slot in enumerate(slots):
                if stopping or slot.process.is_alive():
                    continue
                code = slot.process.exitcode
                quick = time.monotonic() - slot.started_at < QUICK_DEATH_S or code == STARTUP_FAILURE
                quick_deaths = quick_deaths + 1 if quick else 0
                if quick_deaths >= MAX_QUICK_DEATHS:
                    raise AetherError(
                        f"the gateway workers on {host}:{port} keep failing at start-up (last exit code {code})",
                        field="port",
                    )
                log.warning("gateway worker %s ended (exit code %s); starting a new one", slot.process.pid, code)
                time.sleep(min(2.0, 0.2 * quick_deaths))
                slots[index] = start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop(slots)
        if shared is not None:
            shared.close()


def _stop(slots: list[_Slot]) -> None:
    for slot in slots:
        slot.process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for slot in slots:
        slot.process.join(max(0.0, deadline - time.monotonic()))
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join()
