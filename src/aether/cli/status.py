"""`aether status`: a live dashboard of the installation."""

from __future__ import annotations

import typer

from aether.cli.common import console, print_json
from aether.config import get_settings
from aether.ops import status as dashboard


def status(
    once: bool = typer.Option(False, "--once", help="Print the dashboard once and exit."),
    as_json: bool = typer.Option(False, "--json", help="The figures as one JSON object, once."),
    interval: float = typer.Option(2.0, "--interval", min=0.2, help="Seconds between refreshes."),
) -> None:
    """A live dashboard: database, pools, queue, tasks, workflows, backups, maintenance, disk."""
    settings = get_settings()
    if as_json:
        print_json(dashboard.take_snapshot(settings).to_json())
        return
    if once:
        console.print(dashboard.render(dashboard.take_snapshot(settings)))
        return
    dashboard.live(settings, interval, console)
