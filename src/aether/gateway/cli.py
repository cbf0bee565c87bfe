"""`aether api` (the gateway alone) and `aether users ...`."""

from __future__ import annotations

import asyncio
import sys

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


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the gateway with uvicorn until SIGINT/SIGTERM."""
    import uvicorn

    from aether.gateway.app import create_app

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
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        loop=loop,
        http=http,
        access_log=False,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        timeout_keep_alive=30,
        backlog=2048,
    )
    server = uvicorn.Server(config)
    try:
        server.run()
    except OSError as exc:
        raise AetherError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="port") from None
    if not server.started:
        raise AetherError(f"the gateway could not start on {host}:{port}", field="port")


def api(
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Port (default AETHER_PORT, 8000)."),
    host: str = typer.Option("", "--host", help="Address to listen on (default AETHER_HOST, 127.0.0.1)."),
) -> None:
    """Run the HTTP API and web pages (the gateway) on the configured database."""
    from aether.security.roles import service_settings

    settings = service_settings(get_settings())  # acts as aether_app unless AETHER_DATABASE_ROLE says otherwise
    check_schema(settings)
    serve(settings, host or settings.host, port or settings.port)


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
