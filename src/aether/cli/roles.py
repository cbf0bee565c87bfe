"""The process roles as commands: `aether up` (everything), `aether api` (the gateway), `aether worker`,
`aether scheduler` and `aether demo`. Each imports its role from aether.run when it runs: a role loads
the whole system (agents, media, the gateway: seconds of imports), which the other commands never need.
"""

from __future__ import annotations

import asyncio

import typer

from aether.cli.common import console, parse_list
from aether.config import get_settings
from aether.db.connect import ensure_schema
from aether.security.roles import service_settings


def up(
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Gateway port (default AETHER_PORT, 8000)."),
    host: str = typer.Option("", "--host", help="Gateway address (default AETHER_HOST, 127.0.0.1)."),
) -> None:
    """Start the whole system: database, migrations, worker, scheduler and the gateway (web + API)."""
    from aether.run import up as up_module  # the whole system: imported only for this command

    settings = get_settings()
    up_module.run(settings, port or settings.port, host or settings.host)


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
    from aether.run.serve import api_workers, serve  # the gateway: imported only for this command

    settings = service_settings(get_settings())  # acts as aether_app unless AETHER_DATABASE_ROLE says otherwise
    ensure_schema(settings)
    if workers >= 0:
        settings = settings.model_copy(update={"api_workers": workers})
    serve(settings, host or settings.host, port or settings.port, api_workers(settings))


def worker(
    agents: str = typer.Option("", "--agents", help="Comma-separated agents to serve (default: every agent)."),
    concurrency: int = typer.Option(
        0, "--concurrency", min=0, help="Tasks run at once (default AETHER_WORKER_CONCURRENCY)."
    ),
    prefetch: int = typer.Option(0, "--prefetch", min=0, help="Extra tasks claimed ahead of free slots."),
    handlers: str = typer.Option("", "--handlers", help="Comma-separated extra modules that register handlers."),
) -> None:
    """Claim and run tasks until SIGTERM (finishes the tasks in hand; a second signal stops them)."""
    from aether.run.worker import run_worker  # every agent's handlers: imported only for this command

    settings = service_settings(get_settings())  # acts as aether_app unless AETHER_DATABASE_ROLE says otherwise
    ensure_schema(settings)
    modules = parse_list(handlers) + parse_list(settings.worker_handler_modules)
    asyncio.run(
        run_worker(
            settings,
            agents=parse_list(agents) or parse_list(settings.worker_agents) or None,
            concurrency=concurrency or None,
            prefetch=prefetch,
            handler_modules=modules,
        )
    )


def scheduler() -> None:
    """Run the periodic-task ticker (and the rescue of expired leases) until SIGTERM."""
    from aether.run.scheduler import run  # the engine's hooks: imported only for this command

    settings = get_settings()
    ensure_schema(settings)
    console.print("scheduler running", style="green")
    asyncio.run(run(settings))


def demo(
    as_json: bool = typer.Option(False, "--json", help="Last stdout line: one JSON object (workflow id, assets)."),
    minutes: float = typer.Option(2.0, "--minutes", min=1, max=30, help="Length of the episode's script."),
    topic: str = typer.Option("Aether Demo: today's stories", "--title", help="Working title (cover, music)."),
    video: bool = typer.Option(True, "--video/--no-video", help="Render the MP4 and the vertical clip."),
    timeout: float = typer.Option(1800, "--timeout", min=10, help="Seconds to wait for the workflow."),
) -> None:
    """Make one whole episode offline from the bundled sample sources (a feed and articles); print its assets."""
    from aether.run.demo import demo_command  # the whole system: imported only for this command

    code = demo_command(
        service_settings(get_settings()), minutes=minutes, topic=topic, video=video, as_json=as_json, timeout=timeout
    )
    if code:
        raise typer.Exit(code)
