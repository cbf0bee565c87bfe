"""`aether agents ...`, `aether credentials ...` and `aether audit`: the registry, secrets, the audit trail.

Changes made here are audited as `cli:<os user>`. Credential values are read from standard input (never
from the command line, where they would land in shell history and the process list) and are only ever
printed masked.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from aether.config import Settings, get_settings
from aether.db import AsyncConnection, AsyncDatabase
from aether.errors import ValidationFailed

agents_app = typer.Typer(help="The agents registry: create, list, show, update, enable, disable.", no_args_is_help=True)
credentials_app = typer.Typer(
    help="Encrypted credentials: add (value on stdin), list (masked), remove, rotate the data key.",
    no_args_is_help=True,
)
audit_app = typer.Typer(help="The audit log: who changed what, when, from where.")
console = Console()
T = TypeVar("T")


def _run(fn: Callable[[AsyncDatabase, Settings], Awaitable[T]]) -> T:
    from aether.db.connect import open_async_database

    async def main() -> T:
        settings = get_settings()
        db = await open_async_database(settings, name="aether-cli")
        try:
            return await fn(db, settings)
        finally:
            await db.close()

    return asyncio.run(main())


def _in_transaction(fn: Callable[[AsyncConnection, Settings], Awaitable[T]]) -> T:
    from aether.security.audit import cli_actor

    async def run(db: AsyncDatabase, settings: Settings) -> T:
        async with db.transaction(actor=cli_actor()) as conn:
            return await fn(conn, settings)

    return _run(run)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def _json_object(text: str | None, *, option: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"{option} must be JSON: {exc.msg} at character {exc.pos}", field=option) from None
    if not isinstance(value, dict):
        raise ValidationFailed(f'{option} must be a JSON object such as \'{{"key": "value"}}\'', field=option)
    return value


# ---- agents ------------------------------------------------------------------------------------


def _agent_table(agents: list[Any]) -> Table:
    table = Table("name", "type", "status", "reason", "config", "updated")
    for agent in agents:
        table.add_row(
            agent.name,
            agent.type,
            agent.status,
            agent.status_reason or "",
            json.dumps(agent.config) if agent.config else "",
            _text(agent.updated_at),
        )
    return table


@agents_app.command("list")
def agents_list(
    agent_type: str | None = typer.Option(None, "--type", help="Only agents of this type."),
    status: str | None = typer.Option(None, "--status", help="Only agents in this status (inactive|active|error)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    """List the registered agents."""
    from aether.agents import registry

    agents = _in_transaction(lambda conn, _: registry.list_agents(conn, type=agent_type, status=status))
    if as_json:
        print(json.dumps([a.to_dict() for a in agents]))
    else:
        console.print(_agent_table(agents))


@agents_app.command("show")
def agents_show(name: str, as_json: bool = typer.Option(False, "--json", help="One JSON object.")) -> None:
    """Show one agent with its effective configuration (defaults filled in) and its type's AETHER_* settings."""
    from aether.agents import registry

    agent = _in_transaction(lambda conn, _: registry.get_agent(conn, name))
    data = agent.to_dict()
    data["effective_config"] = agent.effective_config().model_dump(mode="json")
    data["settings"] = list(agent.agent_type.variables())
    if as_json:
        print(json.dumps(data))
        return
    for key, value in data.items():
        console.print(f"{key}: {json.dumps(value) if isinstance(value, dict | list) else _text(value)}")


@agents_app.command("create")
def agents_create(
    name: str,
    agent_type: str = typer.Option(..., "--type", help="youtube, telegram, music, orchestrator, tda, sca, pswa, ..."),
    config: str | None = typer.Option(None, "--config", help="Configuration as a JSON object."),
    active: bool = typer.Option(False, "--active", help="Start in status active (default inactive)."),
) -> None:
    """Register an agent; its config is checked against its type's schema."""
    from aether.agents import registry

    values = _json_object(config, option="config")
    agent = _in_transaction(
        lambda conn, _: registry.create_agent(
            conn, name=name, type=agent_type, config=values, status="active" if active else "inactive"
        )
    )
    console.print(f"agent {agent.name} ({agent.type}) created, status {agent.status}")


@agents_app.command("update")
def agents_update(
    name: str,
    new_name: str | None = typer.Option(None, "--name", help="Rename the agent."),
    config: str | None = typer.Option(None, "--config", help="New configuration (JSON object)."),
    merge: bool = typer.Option(False, "--merge", help="Merge --config into the current one instead of replacing."),
    status: str | None = typer.Option(None, "--status", help="inactive, active or error."),
    reason: str | None = typer.Option(None, "--reason", help="Why (needed for status error)."),
) -> None:
    """Change an agent's name, configuration or status."""
    from aether.agents import registry

    values = _json_object(config, option="config")
    agent = _in_transaction(
        lambda conn, _: registry.update_agent(
            conn, name, new_name=new_name, config=values, merge_config=merge, status=status, reason=reason
        )
    )
    console.print(f"agent {agent.name} updated, status {agent.status}")


@agents_app.command("enable")
def agents_enable(name: str) -> None:
    """Set an agent active (its workers run its tasks again)."""
    from aether.agents import registry

    agent = _in_transaction(lambda conn, _: registry.enable(conn, name))
    console.print(f"agent {agent.name} is active")


@agents_app.command("disable")
def agents_disable(name: str, reason: str | None = typer.Option(None, "--reason", help="Why.")) -> None:
    """Set an agent inactive (workers leave its tasks pending)."""
    from aether.agents import registry

    agent = _in_transaction(lambda conn, _: registry.disable(conn, name, reason))
    console.print(f"agent {agent.name} is inactive")


@agents_app.command("delete")
def agents_delete(name: str) -> None:
    """Delete an agent nothing refers to (else disable it)."""
    from aether.agents import registry

    _in_transaction(lambda conn, _: registry.delete_agent(conn, name))
    console.print(f"agent {name} deleted")


@agents_app.command("init")
def agents_init() -> None:
    """Register one active agent per type, named after it, where none exists yet."""
    from aether.agents import registry

    created = _in_transaction(lambda conn, _: registry.ensure_agents(conn))
    console.print(f"registered {len(created)} agents" + (f": {', '.join(a.name for a in created)}" if created else ""))


@agents_app.command("schema")
def agents_schema(agent_type: str) -> None:
    """Print the JSON schema of a type's configuration."""
    from aether.agents import registry

    print(json.dumps(registry.config_schema(agent_type), indent=2))


# ---- credentials -------------------------------------------------------------------------------


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


@credentials_app.command("add")
def credentials_add(
    agent: str | None = typer.Option(None, "--agent", help="The agent that owns it (omit for a shared credential)."),
    platform: str = typer.Option(..., "--platform", help="e.g. youtube, telegram, openai, smtp."),
    key: str = typer.Option(..., "--key", help="e.g. api_key, bot_token, access_token, refresh_token."),
    expires_at: str | None = typer.Option(None, "--expires-at", help="ISO time after which it is not used."),
    expires_in: int | None = typer.Option(None, "--expires-in", min=1, help="Seconds from now until it expires."),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing value."),
) -> None:
    """Store a credential; the value is read from standard input and stored encrypted."""
    from aether.security import credentials

    value = _read_value()
    expiry = _expiry(expires_at, expires_in)
    cred = _in_transaction(
        lambda conn, settings: credentials.add_credential(
            conn, settings, agent=agent, platform=platform, key=key, value=value, expires_at=expiry, replace=replace
        )
    )
    console.print(
        f"credential {cred.id} {credentials.describe(cred.agent, cred.platform, cred.credential_key)} stored: "
        f"{cred.masked} (data key {cred.data_key_id})"
    )


@credentials_app.command("list")
def credentials_list(
    agent: str | None = typer.Option(None, "--agent", help="Only this agent's credentials."),
    platform: str | None = typer.Option(None, "--platform", help="Only this platform's credentials."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    """List credentials with masked values (sk-...abcd)."""
    from aether.security import credentials

    creds = _in_transaction(
        lambda conn, settings: credentials.list_credentials(conn, settings, agent=agent, platform=platform)
    )
    if as_json:
        print(json.dumps([c.to_dict() for c in creds]))
        return
    table = Table("id", "agent", "platform", "key", "value", "data key", "expires", "updated")
    for c in creds:
        expires = _text(c.expires_at) + (" (expired)" if c.expired else "")
        table.add_row(
            str(c.id),
            c.agent or "(shared)",
            c.platform,
            c.credential_key,
            c.error or c.masked,
            c.data_key_id,
            expires,
            _text(c.updated_at),
        )
    console.print(table)


@credentials_app.command("remove")
def credentials_remove(
    credential_id: int | None = typer.Argument(None, help="The credential's id (or use --agent/--platform/--key)."),
    agent: str | None = typer.Option(None, "--agent"),
    platform: str | None = typer.Option(None, "--platform"),
    key: str | None = typer.Option(None, "--key"),
) -> None:
    """Remove a credential by id, or by agent, platform and key."""
    from aether.security import credentials

    if credential_id is None and (platform is None or key is None):
        raise ValidationFailed("give the credential's id, or --platform and --key (and --agent)", field="id")

    async def remove(conn: AsyncConnection, _: Settings) -> int:
        target = credential_id
        if target is None:
            assert platform is not None and key is not None
            target = await credentials.find_credential_id(conn, agent=agent, platform=platform, key=key)
        await credentials.remove_credential(conn, target)
        return target

    removed = _in_transaction(remove)
    console.print(f"credential {removed} removed")


@credentials_app.command("rotate-key")
def credentials_rotate_key(
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, help="Credentials per transaction (default AETHER_KEY_ROTATION_BATCH_SIZE)."
    ),
) -> None:
    """Seal every credential under a new data key in batches (readers keep working), then retire the old."""
    from aether.security import keys
    from aether.security.audit import cli_actor

    report = _run(lambda db, settings: keys.rotate(db, settings, actor=cli_actor(), batch_size=batch_size))
    console.print(
        f"active data key {report.new_key_id}: re-sealed {report.resealed} credentials in {report.batches} "
        f"batches; retired {', '.join(report.retired or []) or 'nothing'}"
    )


@credentials_app.command("keys")
def credentials_keys(as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout.")) -> None:
    """Show the key ring and check that the master key opens every live data key."""
    from aether.security import keys

    async def show(conn: AsyncConnection, settings: Settings) -> tuple[str | None, list[Any]]:
        ring = keys.key_ring(settings)
        await ring.verify(conn)
        listed = await keys.list_keys(conn)
        master = keys.read_master_key(settings)
        return (master.key_id if master else None), listed

    master_id, listed = _in_transaction(show)
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
                            "created_at": _text(k.created_at),
                            "retired_at": _text(k.retired_at),
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
            k.key_id, str(k.version), k.status, k.master_key_id, str(n), _text(k.created_at), _text(k.retired_at)
        )
    console.print(table)


# ---- audit -------------------------------------------------------------------------------------


@audit_app.callback(invoke_without_command=True)
def audit(
    ctx: typer.Context,
    table: str | None = typer.Option(None, "--table", help="Only changes of this table."),
    actor: str | None = typer.Option(None, "--actor", help="Only this actor (user:7, cli:alice, system; 'user:*')."),
    action: str | None = typer.Option(None, "--action", help="insert, update or delete."),
    row_id: str | None = typer.Option(None, "--row-id", help="Only this row (its primary key)."),
    since: str | None = typer.Option(None, "--since", help="From this time: 30m, 12h, 7d, 2w ago, or ISO."),
    until: str | None = typer.Option(None, "--until", help="Before this time (same forms)."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="Most entries shown (newest first)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    """Show audit entries, newest first, filtered by table, actor, action, row and time."""
    if ctx.invoked_subcommand is not None:
        return
    from aether.security import audit as audit_log

    flt = audit_log.AuditFilter(
        table=table,
        actor=actor,
        action=action,
        row_id=row_id,
        since=audit_log.parse_time(since, field="since"),
        until=audit_log.parse_time(until, field="until"),
        limit=limit,
    )
    audit_log.check_filter(flt)
    entries = _run(lambda db, _: _search(db, flt))
    if as_json:
        print(json.dumps([e.to_dict() for e in entries]))
        return
    out = Table("id", "time (UTC)", "actor", "action", "table", "row", "changes")
    for e in entries:
        out.add_row(
            str(e.id),
            _text(e.occurred_at),
            e.actor,
            e.action,
            e.table_name,
            e.row_id or "",
            _summarise(e.action, e.changes),
        )
    console.print(out)


async def _search(db: AsyncDatabase, flt: Any) -> list[Any]:
    from aether.security import audit as audit_log

    async with db.connection(readonly=True) as conn:
        return await audit_log.search(conn, flt)


def _summarise(action: str, changes: dict[str, Any]) -> str:
    if action != "update":
        return ", ".join(sorted(changes))
    parts = []
    for column, change in sorted(changes.items()):
        if change.get("redacted"):
            parts.append(f"{column} (secret)")
        else:
            parts.append(f"{column}: {json.dumps(change.get('old'))} → {json.dumps(change.get('new'))}")
    return "; ".join(parts)
