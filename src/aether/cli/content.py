"""`aether sources ...` and `aether topics ...`: feed sources and topic discovery from the command line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from aether.config import Settings, get_settings
from aether.db.connect import open_async_database
from aether.db.pool import AsyncDatabase

T = TypeVar("T")
sources_app = typer.Typer(help="Feed sources that topic discovery reads (RSS and Atom).", no_args_is_help=True)
topics_app = typer.Typer(help="Topics: discover them from the feeds, list them, add your own.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def run_with_db(work: Callable[[AsyncDatabase, Settings], Awaitable[T]]) -> T:
    """Open the database (embedded unless AETHER_DATABASE_URL is set), run `work`, close."""
    settings = get_settings()

    async def main() -> T:
        db = await open_async_database(settings, name="aether-cli")
        try:
            return await work(db, settings)
        finally:
            await db.close()

    return asyncio.run(main())


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _source_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (value.isoformat() if hasattr(value, "isoformat") else value)
        for key, value in row.items()
        if key != "inserted"
    }


@sources_app.command("add")
def sources_add(
    url: str = typer.Argument(..., help="Feed URL (http or https)."),
    title: str | None = typer.Option(None, "--title", help="A name for the source."),
) -> None:
    """Add a feed source (or enable it again)."""
    from aether.agents.tda import discover as tda

    row, inserted = run_with_db(lambda db, _s: tda.add_source(db, url, title))
    console.print(f"{'added' if inserted else 'enabled'} source {row['id']}: {row['url']}")


@sources_app.command("list")
def sources_list(as_json: bool = typer.Option(False, "--json", help="One JSON list on stdout.")) -> None:
    """List feed sources with their last fetch status and error."""
    from aether.agents.tda import discover as tda

    rows = run_with_db(lambda db, _s: tda.list_sources(db))
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


@sources_app.command("remove")
def sources_remove(url: str = typer.Argument(..., help="Feed URL as listed.")) -> None:
    """Remove a feed source (items and topics already found stay)."""
    from aether.agents.tda import discover as tda

    run_with_db(lambda db, _s: tda.remove_source(db, url))
    console.print(f"removed source {url}")


def _print_topics(topics: list[dict[str, Any]]) -> None:
    table = Table("score", "sources", "title", "id")
    for t in topics:
        score = f"{t['score']:.3f}" if t.get("score") is not None else ""
        table.add_row(score, str(len(t["sources"])), t["title"], t["id"])
    console.print(table if topics else "no topics")


@topics_app.command("discover")
def topics_discover(
    feed: list[str] = typer.Option([], "--feed", help="Read this feed (repeatable); default: every enabled source."),
    limit: int = typer.Option(10, "--limit", min=1, max=100, help="Topics to show."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Fetch the feeds, merge stories into topics, rank and store them."""
    from aether.agents.tda import discover as tda

    result = run_with_db(lambda db, s: tda.discover(db, s, feeds=feed or None, limit=limit))
    if as_json:
        print(json.dumps(result.as_dict()))
    else:
        _print_topics(result.topics)
        for source in result.sources:
            if source.status == "error":
                err.print(f"source {source.url}: {source.error}")
    if result.sources and all(s.status == "error" for s in result.sources):
        raise typer.Exit(1)


@topics_app.command("list")
def topics_list(
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="Most topics shown."),
    as_json: bool = typer.Option(False, "--json", help="One JSON list on stdout."),
) -> None:
    """List stored topics, newest and best first."""
    from aether.agents.tda import discover as tda

    topics = run_with_db(lambda db, _s: tda.list_topics(db, limit))
    if as_json:
        print(json.dumps(topics))
    else:
        _print_topics(topics)


@topics_app.command("add")
def topics_add(
    title: str = typer.Argument(..., help="The topic's title."),
    text: str | None = typer.Option(None, "--text", help="Source text for the topic."),
    url: list[str] = typer.Option([], "--url", help="An article to read for the topic (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Add a topic by hand: a title, and optionally text and article URLs to draw facts from."""
    from aether.agents.tda import discover as tda

    manual = tda.ManualTopic.parse({"title": title, "text": text, "urls": url}, "topic")
    created, failures = run_with_db(lambda db, s: tda.add_manual_topics(db, s, [manual]))
    if as_json:
        print(json.dumps({"topic": created[0], "failures": failures}))
    else:
        console.print(f"added topic {created[0]['id']}: {created[0]['title']}")
    for failure in failures:
        err.print(f"not read: {failure}")
