"""`aether credentials ...`: secrets, sealed with AES-256-GCM; the key ring and key rotation; the review of
credentials after a restore.

Values are read from standard input (never from the command line, where they would land in shell history
and the process list) and are only ever printed masked. Changes are audited as `cli:<os user>`.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.table import Table

from aether.cli.common import console, current_schema_settings, in_transaction, print_json, run_with_db, text
from aether.config import get_settings
from aether.db import AsyncConnection
from aether.db.connect import primary_url
from aether.db.pool import connect
from aether.errors import ValidationFailed
from aether.ops.review import review_credentials
from aether.security import credentials, keys, rotation
from aether.security.audit import cli_actor

app = typer.Typer(
    help="Encrypted credentials: add (value on stdin), list (masked), remove, rotate the data key.",
    no_args_is_help=True,
)


def _read_value() -> str:
    if sys.stdin.isatty():
        value = getpass.getpass("value (not echoed): ")
    else:
        value = sys.stdin.read()
        if value.endswith("\r\n"):
            value = value[:-2]
        elif value.endswith("\n"):
            value = value[:-1]
    if not value:
        raise ValidationFailed(
            'no value on standard input (pipe it in: `printf %s "$TOKEN" | aether ...`)', field="value"
        )
    return value


def _expiry(expires_at: str | None, expires_in: int | None) -> datetime | None:
    if expires_at is not None and expires_in is not None:
        raise ValidationFailed("give --expires-at or --expires-in, not both", field="expires_at")
    if expires_in is not None:
        return datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=expires_in)
    if expires_at is None:
        return None
    try:
        parsed = datetime.fromisoformat(expires_at.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            f"--expires-at must be an ISO date/time such as 2030-01-31T12:00:00Z (got {expires_at!r})",
            field="expires_at",
        ) from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


@app.command("add")
def credentials_add(
    agent: str | None = typer.Option(None, "--agent", help="The agent that owns it (omit for a shared credential)."),
    platform: str = typer.Option(..., "--platform", help="e.g. youtube, telegram, openai, smtp."),
    key: str = typer.Option(..., "--key", help="e.g. api_key, bot_token, access_token, refresh_token."),
    expires_at: str | None = typer.Option(None, "--expires-at", help="ISO time after which it is not used."),
    expires_in: int | None = typer.Option(None, "--expires-in", min=1, help="Seconds from now until it expires."),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing value."),
) -> None:
    """Store a credential; the value is read from standard input and stored encrypted."""
    value = _read_value()
    expiry = _expiry(expires_at, expires_in)
    cred = in_transaction(
        actor=cli_actor(),
        work=lambda conn: credentials.add_credential(
            conn,
            get_settings(),
            agent=agent,
            platform=platform,
            key=key,
            value=value,
            expires_at=expiry,
            replace=replace,
        ),
    )
    console.print(
        f"credential {cred.id} {credentials.describe(cred.agent, cred.platform, cred.credential_key)} stored: "
        f"{cred.masked} (data key {cred.data_key_id})"
    )


@app.command("list")
def credentials_list(
    agent: str | None = typer.Option(None, "--agent", help="Only this agent's credentials."),
    platform: str | None = typer.Option(None, "--platform", help="Only this platform's credentials."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    """List credentials with masked values (sk-...abcd)."""
    creds = in_transaction(
        actor=cli_actor(),
        work=lambda conn: credentials.list_credentials(conn, get_settings(), agent=agent, platform=platform),
    )
    if as_json:
        print(json.dumps([c.to_dict() for c in creds]))
        return
    table = Table("id", "agent", "platform", "key", "value", "data key", "expires", "updated")
    for c in creds:
        expires = text(c.expires_at) + (" (expired)" if c.expired else "")
        table.add_row(
            str(c.id),
            c.agent or "(shared)",
            c.platform,
            c.credential_key,
            c.error or c.masked,
            c.data_key_id,
            expires,
            text(c.updated_at),
        )
    console.print(table)


@app.command("remove")
def credentials_remove(
    credential_id: int | None = typer.Argument(None, help="The credential's id (or use --agent/--platform/--key)."),
    agent: str | None = typer.Option(None, "--agent"),
    platform: str | None = typer.Option(None, "--platform"),
    key: str | None = typer.Option(None, "--key"),
) -> None:
    """Remove a credential by id, or by agent, platform and key."""
    if credential_id is None and (platform is None or key is None):
        raise ValidationFailed("give the credential's id, or --platform and --key (and --agent)", field="id")

    async def remove(conn: AsyncConnection) -> int:
        target = credential_id
        if target is None:
            assert platform is not None and key is not None
            target = await credentials.find_credential_id(conn, agent=agent, platform=platform, key=key)
        await credentials.remove_credential(conn, target)
        return target

    removed = in_transaction(remove, actor=cli_actor())
    console.print(f"credential {removed} removed")


@app.command("rotate-key")
def credentials_rotate_key(
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, help="Credentials per transaction (default AETHER_KEY_ROTATION_BATCH_SIZE)."
    ),
) -> None:
    """Seal every credential under a new data key in batches (readers keep working), then retire the old."""
    report = run_with_db(lambda db: rotation.rotate(db, get_settings(), actor=cli_actor(), batch_size=batch_size))
    console.print(
        f"active data key {report.new_key_id}: re-sealed {report.resealed} credentials in {report.batches} "
        f"batches; retired {', '.join(report.retired or []) or 'nothing'}"
    )


@app.command("keys")
def credentials_keys(as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout.")) -> None:
    """Show the key ring and check that the master key opens every live data key."""

    async def show(conn: AsyncConnection) -> tuple[str | None, list[Any]]:
        settings = get_settings()
        ring = keys.key_ring(settings)
        await ring.verify(conn)
        listed = await keys.list_keys(conn)
        master = keys.read_master_key(settings)
        return (master.key_id if master else None), listed

    master_id, listed = in_transaction(show, actor=cli_actor())
    if as_json:
        print(
            json.dumps(
                {
                    "master_key_id": master_id,
                    "data_keys": [
                        {
                            "key_id": k.key_id,
                            "version": k.version,
                            "status": k.status,
                            "master_key_id": k.master_key_id,
                            "credentials": n,
                            "created_at": text(k.created_at),
                            "retired_at": text(k.retired_at),
                        }
                        for k, n in listed
                    ],
                }
            )
        )
        return
    console.print(f"master key {master_id or '(none yet)'}: opens every live data key")
    table = Table("key id", "version", "status", "wrapped by", "credentials", "created", "retired")
    for k, n in listed:
        table.add_row(
            k.key_id, str(k.version), k.status, k.master_key_id, str(n), text(k.created_at), text(k.retired_at)
        )
    console.print(table)


@app.command("review")
def credentials_review(
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    mark_reviewed: bool = typer.Option(False, "--mark-reviewed", help="Record that the review was done."),
) -> None:
    """After a restore: the credentials to re-issue (changed, issued or removed after the backup, or
    expired). Only metadata is read, never a value."""

    settings = current_schema_settings()
    with connect(primary_url(settings), settings, autocommit=True, application="aether-review") as conn:
        review = review_credentials(conn, mark_reviewed=mark_reviewed)
    if as_json:
        print_json(review.to_json())
        return
    if review.restore:
        console.print(
            f"restore of backup {review.restore['backup_id']} on {review.restore['restored_at']} "
            f"(data as of {review.restore['recovered_to'] or review.restore['target_time'] or 'the backup'})"
        )
    for note in review.notes:
        console.print(f"note: {note}")
    if not review.items:
        console.print("no credential needs re-issuing")
        return
    table = Table("id", "agent", "platform", "key", "why", "what to do", "expires", "updated")
    for item in review.items:
        table.add_row(
            str(item.credential_id),
            item.agent or "(shared)",
            item.platform,
            item.credential_key,
            item.reason,
            item.action,
            (item.expires_at or "-")[:19],
            (item.updated_at or "-")[:19],
        )
    console.print(table)
