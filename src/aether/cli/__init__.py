"""The `aether` command: the process roles (aether.cli.roles) and one module per command group."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console

from aether import __version__
from aether.cli import (
    agents,
    audit,
    backup,
    credentials,
    db,
    maintenance,
    roles,
    script,
    shows,
    sources,
    status,
    tasks,
    topics,
    users,
    workflows,
)
from aether.cli.common import check_arguments
from aether.config import get_settings
from aether.errors import AetherError
from aether.logs import setup_logging

app = typer.Typer(
    help="Aether: autonomous content agents that turn topics into published podcasts and videos.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("up")(roles.up)
app.command("api")(roles.api)
app.command("worker")(roles.worker)
app.command("scheduler")(roles.scheduler)
app.command("demo")(roles.demo)
app.add_typer(db.app, name="db")
app.add_typer(sources.app, name="sources")
app.add_typer(topics.app, name="topics")
app.add_typer(script.app, name="script")
app.add_typer(shows.app, name="shows")
app.add_typer(users.app, name="users")
app.add_typer(workflows.app, name="workflows")
app.add_typer(tasks.app, name="tasks")
app.add_typer(agents.app, name="agents")
app.add_typer(credentials.app, name="credentials")
app.add_typer(audit.app, name="audit")
app.add_typer(backup.app, name="backup")
app.add_typer(maintenance.app, name="maintenance")
app.command("status")(status.status)
console = Console()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    if version:
        print(__version__)
        raise typer.Exit()
    settings = get_settings()
    setup_logging(settings.log_level, settings.log_format)


@app.command()
def config(as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout.")) -> None:
    """Print the effective configuration (every AETHER_* setting), section by section, secrets masked."""
    settings = get_settings()
    if as_json:
        print(json.dumps(settings.public_report()))
        return
    sections = settings.report_by_section()
    width = max(len(key) for report in sections.values() for key in report)
    for index, (heading, report) in enumerate(sections.items()):
        print(("\n" if index else "") + f"# {heading}")
        for key, value in report.items():
            print(f"{key:<{width}}  {'' if value is None else value}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: every AetherError becomes one line on stderr and exit status 1."""
    try:
        check_arguments(sys.argv[1:] if argv is None else argv)
        app(args=argv, prog_name="aether", standalone_mode=True)
    except AetherError as exc:
        print(f"aether: error: {exc.message}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
