"""`aether api` (the gateway alone) and `aether users ...`."""

from __future__ import annotations

import asyncio
import sys

import typer
from rich.console import Console

from aether.config import get_settings
from aether.db.connect import ensure_schema
from aether.security.roles import service_settings

users_app = typer.Typer(help="Accounts of the web app and API.", no_args_is_help=True)
console = Console()


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
    from aether.run.serve import api_workers, serve  # the whole system (~2 s of imports): only for this command

    settings = service_settings(get_settings())  # acts as aether_app unless AETHER_DATABASE_ROLE says otherwise
    ensure_schema(settings)
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
    from aether.podcasts.models import RegisterIn
    from aether.security import accounts

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
