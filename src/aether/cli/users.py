"""`aether users ...`: accounts of the web app and the API."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from aether.cli.common import console, in_transaction
from aether.errors import invalid
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
    try:
        RegisterIn.model_validate({"email": email, "password": "x" * 64, "display_name": name or None})
    except ValidationError as exc:  # a bad email or name is refused before anyone types a password
        raise invalid(exc) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        body = RegisterIn(email=email, password=password, display_name=name or None)
    except ValidationError as exc:
        raise invalid(exc) from None
    role = "admin" if admin else "user"
    user = in_transaction(
        lambda conn: accounts.register(conn, body.email, body.password, body.display_name, role=role), actor="cli"
    )
    console.print(f"created user {user['id']} {user['email']} ({user['role']})")
