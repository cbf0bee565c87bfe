"""`aether agents ...`: the agents registry (config validated per type).

Changes made here are audited as `cli:<os user>`.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from aether.agents import registry
from aether.cli.common import console, in_transaction, json_object, text
from aether.security.audit import cli_actor

app = typer.Typer(help="The agents registry: create, list, show, update, enable, disable.", no_args_is_help=True)


def _agent_table(agents: list[Any]) -> Table:
    table = Table("name", "type", "status", "reason", "config", "updated")
    for agent in agents:
        table.add_row(
            agent.name,
            agent.type,
            agent.status,
            agent.status_reason or "",
            json.dumps(agent.config) if agent.config else "",
            text(agent.updated_at),
        )
    return table


@app.command("list")
def agents_list(
    agent_type: str | None = typer.Option(None, "--type", help="Only agents of this type."),
    status: str | None = typer.Option(None, "--status", help="Only agents in this status (inactive|active|error)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array on stdout."),
) -> None:
    """List the registered agents."""
    agents = in_transaction(
        actor=cli_actor(), work=lambda conn: registry.list_agents(conn, type=agent_type, status=status)
    )
    if as_json:
        print(json.dumps([a.to_dict() for a in agents]))
    else:
        console.print(_agent_table(agents))


@app.command("show")
def agents_show(name: str, as_json: bool = typer.Option(False, "--json", help="One JSON object.")) -> None:
    """Show one agent with its effective configuration (defaults filled in) and its type's AETHER_* settings."""
    agent = in_transaction(actor=cli_actor(), work=lambda conn: registry.get_agent(conn, name))
    data = agent.to_dict()
    data["effective_config"] = agent.effective_config().model_dump(mode="json")
    data["settings"] = list(agent.agent_type.variables())
    if as_json:
        print(json.dumps(data))
        return
    for key, value in data.items():
        console.print(f"{key}: {json.dumps(value) if isinstance(value, dict | list) else text(value)}")


@app.command("create")
def agents_create(
    name: str,
    agent_type: str = typer.Option(..., "--type", help="youtube, telegram, music, orchestrator, tda, sca, pswa, ..."),
    config: str | None = typer.Option(None, "--config", help="Configuration as a JSON object."),
    active: bool = typer.Option(False, "--active", help="Start in status active (default inactive)."),
) -> None:
    """Register an agent; its config is checked against its type's schema."""
    values = json_object(config, option="config")
    agent = in_transaction(
        actor=cli_actor(),
        work=lambda conn: registry.create_agent(
            conn, name=name, type=agent_type, config=values, status="active" if active else "inactive"
        ),
    )
    console.print(f"agent {agent.name} ({agent.type}) created, status {agent.status}")


@app.command("update")
def agents_update(
    name: str,
    new_name: str | None = typer.Option(None, "--name", help="Rename the agent."),
    config: str | None = typer.Option(None, "--config", help="New configuration (JSON object)."),
    merge: bool = typer.Option(False, "--merge", help="Merge --config into the current one instead of replacing."),
    status: str | None = typer.Option(None, "--status", help="inactive, active or error."),
    reason: str | None = typer.Option(None, "--reason", help="Why (needed for status error)."),
) -> None:
    """Change an agent's name, configuration or status."""
    values = json_object(config, option="config")
    agent = in_transaction(
        actor=cli_actor(),
        work=lambda conn: registry.update_agent(
            conn, name, new_name=new_name, config=values, merge_config=merge, status=status, reason=reason
        ),
    )
    console.print(f"agent {agent.name} updated, status {agent.status}")


@app.command("enable")
def agents_enable(name: str) -> None:
    """Set an agent active (its workers run its tasks again)."""
    agent = in_transaction(actor=cli_actor(), work=lambda conn: registry.enable(conn, name))
    console.print(f"agent {agent.name} is active")


@app.command("disable")
def agents_disable(name: str, reason: str | None = typer.Option(None, "--reason", help="Why.")) -> None:
    """Set an agent inactive (workers leave its tasks pending)."""
    agent = in_transaction(actor=cli_actor(), work=lambda conn: registry.disable(conn, name, reason))
    console.print(f"agent {agent.name} is inactive")


@app.command("delete")
def agents_delete(name: str) -> None:
    """Delete an agent nothing refers to (else disable it)."""
    in_transaction(actor=cli_actor(), work=lambda conn: registry.delete_agent(conn, name))
    console.print(f"agent {name} deleted")


@app.command("init")
def agents_init() -> None:
    """Register one active agent per type, named after it, where none exists yet."""
    created = in_transaction(actor=cli_actor(), work=lambda conn: registry.ensure_agents(conn))
    console.print(f"registered {len(created)} agents" + (f": {', '.join(a.name for a in created)}" if created else ""))


@app.command("schema")
def agents_schema(agent_type: str) -> None:
    """Print the JSON schema of a type's configuration."""
    print(json.dumps(registry.config_schema(agent_type), indent=2))
