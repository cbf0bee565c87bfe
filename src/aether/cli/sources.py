"""`aether sources ...`: the feeds that topic discovery reads."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from aether.cli.common import console, run_with_db

app = typer.Typer(help="Feed sources that topic discovery reads (RSS and Atom).", no_args_is_help=True)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _source_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (value.isoformat() if hasattr(value, "isoformat") else value)
        for key, value in row.items()
        if key != "inserted"
    }


@app.command("add")
def sources_add(
    url: str = typer.Argument(..., help="Feed URL (http or https)."),
    title: str | None = typer.Option(None, "--title", help="A name for the source."),
) -> None:
    """Add a feed source (or enable it again)."""
    # topic discovery loads feedparser, trafilatura and numpy: imported only when a command needs it
    from aether.agents.tda import discover as tda

    row, inserted = run_with_db(lambda db: tda.add_source(db, url, title))
    console.print(f"{'added' if inserted else 'enabled'} source {row['id']}: {row['url']}")


@app.command("list")
def sources_list(as_json: bool = typer.Option(False, "--json", help="One JSON list on stdout.")) -> None:
    """List feed sources with their last fetch status and error."""
    # topic discovery loads feedparser, trafilatura and numpy: imported only when a command needs it
    from aether.agents.tda import discover as tda

    rows = run_with_db(lambda db: tda.list_sources(db))
    if as_json:
        print(json.dumps([_source_json(r) for r in rows]))
        return
    table = Table("id", "url", "enabled", "last status", "fetched", "failures", "last error")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["url"],
            "yes" if r["enabled"] else "no",
            r["last_status"] or "never",
            _when(r["last_fetched_at"]),
            str(r["consecutive_failures"]),
            r["last_error"] or "",
        )
    console.print(table if rows else "no sources yet: add one with `aether sources add URL`")


@app.command("remove")
def sources_remove(url: str = typer.Argument(..., help="Feed URL as listed.")) -> None:
    """Remove a feed source (items and topics already found stay)."""
    # topic discovery loads feedparser, trafilatura and numpy: imported only when a command needs it
    from aether.agents.tda import discover as tda

    run_with_db(lambda db: tda.remove_source(db, url))
    console.print(f"removed source {url}")
