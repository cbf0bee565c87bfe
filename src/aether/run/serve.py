"""The gateway role (`aether api`, and the gateway of `aether up`): uvicorn serving the app, in this
process or in several processes sharing one port (aether.run.supervisor)."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import threading
from typing import Any

import uvicorn
from rich.console import Console

from aether.config import Settings
from aether.errors import AetherError
from aether.gateway.app import create_app, create_metrics_app
from aether.logs import setup_logging
from aether.run.hooks import HOOKS
from aether.run.supervisor import run_workers

console = Console()


def tune_gc() -> None:
    """The app's start-up objects never die: moved out of the collector's sight, full collections stay
    short; and fewer young collections under load (a request allocates thousands of objects)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


class AppFactory:
    """Builds the gateway when its server starts (picklable, for the supervisor's spawned workers)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self) -> Any:
        app = create_app(self.settings, hooks=HOOKS)
        tune_gc()
        return app


def api_workers(settings: Settings) -> int:
    """AETHER_API_WORKERS, where 0 means one process per core."""
    if settings.api_workers:
        return settings.api_workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class GatewayRunner:
    """Serves the gateway with uvicorn until SIGINT/SIGTERM; True when the server started. Picklable, so
    the supervisor's worker processes run it too."""

    def __init__(self, settings: Settings, host: str, port: int) -> None:
        self.settings = settings
        self.host = host
        self.port = port

    def config(self) -> uvicorn.Config:
        try:
            import uvloop  # noqa: F401

            loop = "uvloop"
        except ImportError:
            loop = "asyncio"
        try:
            import httptools  # noqa: F401

            http = "httptools"
        except ImportError:
            http = "h11"
        return uvicorn.Config(
            AppFactory(self.settings),
            factory=True,
            host=self.host,
            port=self.port,
            loop=loop,
            http=http,
            access_log=False,
            log_level=self.settings.log_level.lower(),
            proxy_headers=False,
            timeout_keep_alive=30,
            backlog=2048,
        )

    def __call__(self, sockets: list[socket.socket] | None = None) -> bool:
        setup_logging(self.settings.log_level, self.settings.log_format)
        server = uvicorn.Server(self.config())
        server.run(sockets=sockets)
        return bool(server.started)


METRICS_HOST = "127.0.0.1"


def start_metrics_server(settings: Settings) -> uvicorn.Server | None:
    """/metrics on 127.0.0.1:AETHER_METRICS_PORT in a thread of this process (None when it is not set);
    it stops with the process, or when its `should_exit` is set."""
    if settings.metrics_port is None:
        return None
    config = uvicorn.Config(
        create_metrics_app(settings),
        host=METRICS_HOST,
        port=settings.metrics_port,
        access_log=False,
        log_level="warning",
        proxy_headers=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    threading.Thread(target=lambda: asyncio.run(server.serve()), name="metrics-server", daemon=True).start()
    console.print(f"metrics: http://{METRICS_HOST}:{settings.metrics_port}/metrics")
    return server


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Run the gateway until SIGINT/SIGTERM: in this process, or in `workers` processes on one port; and
    /metrics on its loopback port when AETHER_METRICS_PORT is set."""
    runner = GatewayRunner(settings, host, port)
    start_metrics_server(settings)
    if workers > 1:
        console.print(f"gateway: {workers} worker processes on http://{host}:{port}/")
        run_workers(runner, host, port, workers)
        return
    try:
        started = runner()
    except OSError as exc:
        raise AetherError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="port") from None
    if not started:
        raise AetherError(f"the gateway could not start on {host}:{port}", field="port")
