"""The `aether` command: one sub-command group per concern."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console

from aether import __version__
from aether.cli.content import sources_app, topics_app
from aether.cli.db import app as db_app
from aether.cli.gateway import api as api_command
from aether.cli.gateway import users_app
from aether.cli.ops import backup_app, credentials_review, maintenance_app
from aether.cli.ops import status as status_command
from aether.cli.script import script_app
from aether.cli.security import agents_app, audit_app, credentials_app
from aether.cli.tasks import app as tasks_app
from aether.cli.tasks import scheduler as scheduler_command
from aether.cli.tasks import worker as worker_command
from aether.cli.workflows import app as workflows_app
from aether.config import get_settings
from aether.errors import AetherError
from aether.logs import setup_logging

app = typer.Typer(
    help="Aether: autonomous content agents that turn topics into published podcasts and videos.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")
app.add_typer(topics_app, name="topics")
app.add_typer(script_app, name="script")
app.add_typer(users_app, name="users")
app.command("api")(api_command)
app.add_typer(workflows_app, name="workflows")
app.add_typer(tasks_app, name="tasks")
app.command("worker")(worker_command)
app.command("scheduler")(scheduler_command)
app.add_typer(agents_app, name="agents")
app.add_typer(credentials_app, name="credentials")
app.add_typer(audit_app, name="audit")
app.add_typer(backup_app, name="backup")
app.add_typer(maintenance_app, name="maintenance")
app.command("status")(status_command)
credentials_app.command("review")(credentials_review)
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


@app.command()
def up(
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Gateway port (default AETHER_PORT, 8000)."),
    host: str = typer.Option("", "--host", help="Gateway address (default AETHER_HOST, 127.0.0.1)."),
) -> None:
    """Start the whole system: database, migrations, worker, scheduler and the gateway (web + API)."""
    from aether.run import up as up_module

    settings = get_settings()
    up_module.run(settings, port or settings.port, host or settings.host)


@app.command()
def demo(
    as_json: bool = typer.Option(False, "--json", help="Last stdout line: one JSON object (workflow id, assets)."),
    minutes: float = typer.Option(2.0, "--minutes", min=1, max=30, help="Length of the episode's script."),
    topic: str = typer.Option("Aether Demo: today's stories", "--title", help="Working title (cover, music)."),
    video: bool = typer.Option(True, "--video/--no-video", help="Render the MP4 and the vertical clip."),
    timeout: float = typer.Option(1800, "--timeout", min=10, help="Seconds to wait for the workflow."),
) -> None:
    """Make one whole episode offline from the bundled sample sources (a feed and articles); print its assets."""
    from aether.run.demo import demo_command
    from aether.security.roles import service_settings

    code = demo_command(
        service_settings(get_settings()), minutes=minutes, topic=topic, video=video, as_json=as_json, timeout=timeout
    )
    if code:
        raise typer.Exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every AetherError becomes one line on stderr and exit status 1."""
    try:
        app(args=argv, prog_name="aether", standalone_mode=True)
    except AetherError as exc:
        print(f"aether: error: {exc.message}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
