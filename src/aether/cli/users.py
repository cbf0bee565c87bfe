"""`aether users ...`: accounts of the web app and the API."""

from __future__ import annotations

import asyncio
import sys

import typer

from aether.cli.common import console
from aether.config import get_settings
from aether.db.connect import open_database
from aether.errors import ValidationFailed
from aether.podcasts.models import RegisterIn
from aether.security import accounts

app = typer.Typer(help="Accounts of the web app and API.", no_args_is_help=True)


@app.command("create")
def create_user(
    email: str = typer.Argument(..., help="The account's email address."),
    admin: bool = typer.Option(False, "--admin", help="Give the account the admin role."),
    name: str = typer.Option("", "--name", help="Display name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create an account (asks for the password unless --password-stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    from pydantic import ValidationError

    try:
        body = RegisterIn(email=email, password=password, display_name=name or None)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "input"
        raise ValidationFailed(f"{field}: {str(err['msg']).removeprefix('Value error, ')}", field=field) from None

    async def main() -> dict[str, object]:
        settings = get_settings()
        db = await open_database(settings, name="aether-cli")
        try:
            async with db.transaction() as conn:
                return await accounts.register(
                    conn, body.email, body.password, body.display_name, role="admin" if admin else "user"
                )
        finally:
            await db.close()

    user = asyncio.run(main())
    console.print(f"created user {user['id']} {user['email']} ({user['role']})")
