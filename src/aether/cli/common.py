"""What every command module shares: the consoles, running work on the database, and printing.

`run_with_db(work)` is the one way a command opens the database: the schema is made current first
(the embedded server is migrated on the spot; an external database that is behind stops the command
with one line saying to run `aether db migrate`), then `work(db)` runs on a pool that is closed after.
A command that opens connections of its own (maintenance, the credentials review) takes its settings from
`current_schema_settings()`, which makes the schema current the same way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from aether.config import Settings, get_settings
from aether.db import AsyncConnection, Database
from aether.db.connect import ensure_schema, open_database
from aether.errors import ValidationFailed
from aether.text.controls import check_text, check_value

T = TypeVar("T")
console = Console()
err = Console(stderr=True)


def current_schema_settings() -> Settings:
    """The settings, once the schema is current (as `run_with_db` makes it)."""
    settings = get_settings()
    ensure_schema(settings)
    return settings


def run_with_db(work: Callable[[Database], Awaitable[T]], *, settings: Settings | None = None) -> T:
    """Make the schema current, open the database (embedded unless AETHER_DATABASE_URL), run `work`, close."""
    settings = settings or get_settings()
    ensure_schema(settings)

    async def main() -> T:
        db = await open_database(settings, name="aether-cli")
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(main())


def in_transaction(work: Callable[[AsyncConnection], Awaitable[T]], *, actor: str | None = None) -> T:
    """`work(conn)` in one transaction, audited as `actor`."""

    async def run(db: Database) -> T:
        async with db.transaction(actor=actor) as conn:
            return await work(conn)

    return run_with_db(run)


def text(value: Any) -> str:
    """A value for a table cell: times to the second, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def print_json(value: Any) -> None:
    """One JSON document on stdout (times in ISO 8601)."""
    print(json.dumps(value, default=json_default))


def json_object(raw: str | None, *, option: str) -> dict[str, Any] | None:
    """The JSON object given to `option`; a clear error naming the option otherwise."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"{option} must be JSON: {exc.msg} at character {exc.pos}", field=option) from None
    if not isinstance(value, dict):
        raise ValidationFailed(f'{option} must be a JSON object such as \'{{"key": "value"}}\'', field=option)
    check_value(value, option)
    return value


def check_arguments(args: list[str]) -> None:
    """Refuse a command line holding a control character or a lone surrogate (undecodable bytes arrive as
    those): ValidationFailed naming the option (`--name`) or the argument's position."""
    previous: str | None = None
    for position, arg in enumerate(args, start=1):
        if arg.startswith("--") and "=" in arg:
            option, _, value = arg.partition("=")
            check_text(option, f"argument {position}")
            check_text(value, option)
        elif arg.startswith("-") and len(arg) > 1:
            check_text(arg, f"argument {position}")
        else:
            check_text(arg, previous if previous is not None else f"argument {position}")
        previous = arg if arg.startswith("-") and "=" not in arg else None


def parse_list(value: str | None) -> list[str]:
    """A comma-separated option as a list, blanks dropped."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]
