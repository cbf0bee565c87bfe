"""`aether script write`: a podcast script for one or more topics, from the command line."""

from __future__ import annotations

import json
from typing import Any

import typer

from aether.cli.common import console, run_with_db
from aether.config import Settings, get_settings
from aether.db.pool import Database
from aether.errors import NotFound

app = typer.Typer(help="Podcast scripts: write one from stored topics.", no_args_is_help=True)


async def _write(
    db: Database, settings: Settings, topics: list[str], minutes: float, writer: str | None
) -> dict[str, Any]:
    # the content agents load numpy, sumy, trafilatura and the LLM client: only for this command
    from aether.agents.pswa import write as pswa
    from aether.agents.pswa.script import ScriptRequest
    from aether.agents.sca import snippets as sca
    from aether.agents.tda import discover as tda

    ids: list[str] = []
    for title in topics:
        found = await tda.find_topic(db, title)
        if found is None:
            raise NotFound(
                f"topic: nothing matches {title!r}; run `aether topics discover` or add it with "
                f'`aether topics add "{title}" --text ... --url ...`',
                field="topic",
            )
        ids.append(str(found["id"]))
    snippets = await sca.make_snippets(db, settings, list(dict.fromkeys(ids)))
    request = ScriptRequest.parse({"snippets": snippets, "minutes": minutes}, settings)
    result = await pswa.write_script(db, settings, request, writer=writer)
    return result.as_dict()


@app.command("write")
def write(
    topic: list[str] = typer.Option(..., "--topic", help="Topic title or search words (repeatable)."),
    minutes: float = typer.Option(5.0, "--minutes", help="Target length in minutes (1 to 120)."),
    writer: str | None = typer.Option(None, "--writer", help="offline, llm or auto (default AETHER_SCRIPT_WRITER)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """Write a podcast script for the topics (cached: the same request again costs nothing)."""
    result = run_with_db(lambda db: _write(db, get_settings(), topic, minutes, writer))
    if as_json:
        print(json.dumps(result))
        return
    script = result["script"]
    console.print(f"[bold]{script['episode_title']}[/bold]  ({script['show_title']}, {script['language']})")
    for segment in script["segments"]:
        console.print(f"\n[dim]-- {segment['kind']}: {segment['title']}[/dim]")
        for line in segment["lines"]:
            console.print(f"[bold]{line['speaker']}:[/bold] {line['text']}", highlight=False)
    facts = f"{script['word_count']} words of {script['target_words']}"
    cached = "from the cache" if result["cache_hit"] else "written now"
    console.print(f"\n[dim]{facts}; {result['writer']} writer; {cached}[/dim]")
    for note in script.get("notes") or []:
        console.print(f"[dim]note: {note}[/dim]")
