"""`aether topics ...`: discover topics from the feeds, list them, add your own."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from aether.cli.common import console, err, run_with_db
from aether.config import get_settings

app = typer.Typer(help="Topics: discover them from the feeds, list them, add your own.", no_args_is_help=True)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _print_topics(topics: list[dict[str, Any]]) -> None:
    table = Table("score", "sources", "title", "id")
    for t in topics:
        score = f"{t['score']:.3f}" if t.get("score") is not None else ""
        table.add_row(score, str(len(t["sources"])), t["title"], t["id"])
    console.print(table if topics else "no topics")


@app.command("discover")
def topics_discover(
    feed: list[str] = typer.Option([], "--feed", help="Read this feed (repeatable); default: every enabled source."),
    limit: int = typer.Option(10, "--limit", min=1, max=100, help="Topics to show."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Fetch the feeds, merge stories into topics, rank and store them."""
    # topic discovery loads feedparser, trafilatura and numpy: imported only when a command needs it
    from aether.agents.tda import discover as tda

    result = run_with_db(lambda db: tda.discover(db, get_settings(), feeds=feed or None, limit=limit))
    if as_json:
        print(json.dumps(result.as_dict()))
    else:
        _print_topics(result.topics)
        for source in result.sources:
            if source.status == "error":
                err.print(f"source {source.url}: {source.error}")
    if result.sources and all(s.status == "error" for s in result.sources):
        raise typer.Exit(1)


@app.command("list")
def topics_list(
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="Most topics shown."),
    as_json: bool = typer.Option(False, "--json", help="One JSON list on stdout."),
) -> None:
    """List stored topics, newest and best first."""
    # topic discovery loads feedparser, trafilatura and numpy: imported only when a command needs it
    from aether.agents.tda import discover as tda

    topics = run_with_db(lambda db: tda.list_topics(db, limit))
    if as_json:
        print(json.dumps(topics))
    else:
        _print_topics(topics)


@app.command("add")
def topics_add(
    title: str = typer.Argument(..., help="The topic's title."),
    text: str | None = typer.Option(None, "--text", help="Source text for the topic."),
    url: list[str] = typer.Option([], "--url", help="An article to read for the topic (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Add a topic by hand: a title, and optionally text and article URLs to draw facts from."""
    # topic discovery loads feedparser, trafilatura and numpy: imported only when a command needs it
    from aether.agents.tda import discover as tda

    manual = tda.ManualTopic.parse({"title": title, "text": text, "urls": url}, "topic")
    created, failures = run_with_db(lambda db: tda.add_manual_topics(db, get_settings(), [manual]))
    if as_json:
        print(json.dumps({"topic": created[0], "failures": failures}))
    else:
        console.print(f"added topic {created[0]['id']}: {created[0]['title']}")
    for failure in failures:
        err.print(f"not read: {failure}")
