"""`aether api` (the gateway alone) and `aether users ...`."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import sys
from typing import Any

import typer
from rich.console import Console

from aether.config import Settings, get_settings
from aether.errors import AetherError, MigrationError

users_app = typer.Typer(help="Accounts of the web app and API.", no_args_is_help=True)
console = Console()


def check_schema(settings: Settings) -> None:
    """Refuse to serve on a database whose migrations are not all applied."""
    from aether.db import migrate
    from aether.db.connect import primary_url
    from aether.db.pool import connect

    with connect(primary_url(settings), settings, autocommit=True) as conn:
        if not migrate.is_current(conn):
            raise MigrationError("the database schema is not current: run `aether db migrate` first")


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
        from aether.gateway.app import create_app

        app = create_app(self.settings)
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

    def config(self) -> Any:
        import uvicorn

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
        import uvicorn

        from aether.logs import setup_logging

        setup_logging(self.settings.log_level, self.settings.log_format)
        server = uvicorn.Server(self.config())
        server.run(sockets=sockets)
        return bool(server.started)


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Run the gateway until SIGINT/SIGTERM: in this process, or in `workers` processes on one port."""
    runner = GatewayRunner(settings, host, port)
    if workers > 1:
        from aether.gateway.supervisor import run_workers

        console.print(f"gateway: {workers} worker processes on http://{host}:{port}/")
        run_workers(runner, host, port, workers)
        return
    try:
        started = runner()
    except OSError as exc:
        raise AetherError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="port") from None
    if not started:
        raise AetherError(f"the gateway could not start on {host}:{port}", field="port")


def api(
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Port (default AETHER_PORT, 8000)."),
    host: str = typer.Option("", "--host", help="Address to listen on (default AETHER_HOST, 127.0.0.1)."),
    workers: int = typer.Option(
        -1,
        "--workers",
        min=-1,
        max=256,
        help="Processes sharing the port (default AETHER_API_WORKERS; 0 = one per core).",
    ),
) -> None:
    """Run the HTTP API and web pages (the gateway) on the configured database."""
    from aether.security.roles import service_settings

    settings = service_settings(get_settings())  # acts as aether_app unless AETHER_DATABASE_ROLE says otherwise
    check_schema(settings)
    if workers >= 0:
        settings = settings.model_copy(update={"api_workers": workers})
    serve(settings, host or settings.host, port or settings.port, api_workers(settings))


@users_app.command("create")
def create_user(
    email: str = typer.Argument(..., help="The account's email address."),
    admin: bool = typer.Option(False, "--admin", help="Give the account the admin role."),
    name: str = typer.Option("", "--name", help="Display name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create an account (asks for the password unless --password-stdin)."""
    from aether.db.connect import open_async_database
    from aether.gateway import accounts
    from aether.gateway.models import RegisterIn

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    from pydantic import ValidationError

    from aether.errors import ValidationFailed

    try:
        body = RegisterIn(email=email, password=password, display_name=name or None)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "input"
        raise ValidationFailed(f"{field}: {str(err['msg']).removeprefix('Value error, ')}", field=field) from None

    async def main() -> dict[str, object]:
        settings = get_settings()
        db = await open_async_database(settings, name="aether-cli")
        try:
            async with db.transaction() as conn:
                return await accounts.register(
                    conn, body.email, body.password, body.display_name, role="admin" if admin else "user"
                )
        finally:
            await db.close()

    user = asyncio.run(main())
    console.print(f"created user {user['id']} {user['email']} ({user['role']})")
