"""`aether shows ...`: the shows, and their bible (hosts and voices, pronunciations, intro and outro,
music, loudness, language, review), as the API's PATCH /v1/shows/{id} changes them.

Changes made here are audited as `cli:<os user>`; every value is checked by the same rules as the API's,
and a value that breaks one changes nothing."""

from __future__ import annotations

import json
from typing import Any

import typer
from pydantic import ValidationError
from rich.table import Table

from aether.cli.common import console, in_transaction, print_json, run_with_db, text
from aether.config import get_settings
from aether.db import AsyncConnection, Database
from aether.errors import NotFound, ValidationFailed, invalid
from aether.podcasts import shows
from aether.podcasts.models import ShowPatch
from aether.security.audit import cli_actor

app = typer.Typer(help="Shows and their bible: hosts, voices, pronunciations, intro and outro.", no_args_is_help=True)


async def _by_slug(conn: AsyncConnection, slug: str) -> dict[str, Any]:
    show = await shows.show_by_slug(conn, slug)
    if show is None:
        raise NotFound(f"no show {slug!r} (see `aether shows list`)", field="slug")
    return show


def _json(show: dict[str, Any]) -> dict[str, Any]:
    return shows.show_json(show, "")


@app.command("list")
def list_shows(as_json: bool = typer.Option(False, "--json", help="One JSON list on stdout.")) -> None:
    """Every show, with its owner and episode count."""

    async def run(db: Database) -> list[dict[str, Any]]:
        return [dict(r) for r in await db.fetch_all(shows.Q.all_shows)]

    rows = run_with_db(run)
    if as_json:
        print_json(rows)
        return
    table = Table("slug", "title", "author", "language", "published")
    for row in rows:
        table.add_row(row["slug"], row["title"], row["author"], row["language"], text(row["published_count"]))
    console.print(table)


@app.command("show")
def show_one(
    slug: str = typer.Argument(..., help="The show's slug."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
) -> None:
    """One show with its bible."""

    async def run(db: Database) -> dict[str, Any]:
        async with db.connection() as conn:
            return await _by_slug(conn, slug)

    show = _json(run_with_db(run))
    if as_json:
        print_json(show)
        return
    for key in ("title", "author", "language", "intro", "outro", "music", "loudness_lufs", "review", "sources"):
        console.print(f"[bold]{key}[/bold]: {text(show[key])}", highlight=False)
    for host in show["hosts"]:
        voice = json.dumps(host["voice"]) if host["voice"] else "default voice"
        console.print(
            f"[bold]host[/bold]: {host['name']} ({host['persona'] or 'no persona'}); {voice}", highlight=False
        )
    for entry in show["pronunciations"]:
        console.print(f"[bold]say[/bold] {entry['text']} as {entry['say']}", highlight=False)


def _pronunciations(current: list[dict[str, str]], add: list[str], drop: list[str]) -> list[dict[str, str]]:
    lexicon = {p["text"]: p["say"] for p in current}
    for item in add:
        said, sep, say = item.partition("=")
        if not sep or not said.strip() or not say.strip():
            raise ValidationFailed("--pronounce takes TEXT=SAY, e.g. Lindqvist=Lind-kvist", field="pronunciations")
        lexicon[said.strip()] = say.strip()
    for said in drop:
        if lexicon.pop(said.strip(), None) is None:
            raise ValidationFailed(f"--unpronounce: {said!r} is not in the lexicon", field="pronunciations")
    return [{"text": t, "say": s} for t, s in lexicon.items()]


@app.command("set")
def set_bible(
    slug: str = typer.Argument(..., help="The show's slug."),
    title: str | None = typer.Option(None, "--title", help="The show's title."),
    description: str | None = typer.Option(None, "--description", help="What the show is about."),
    author: str | None = typer.Option(None, "--author", help="Who makes it (the MP3 artist)."),
    language: str | None = typer.Option(None, "--language", help="BCP 47 language, e.g. en or en-GB."),
    hosts: str | None = typer.Option(
        None,
        "--hosts",
        help='Hosts as JSON: names, or objects {"name", "persona", "voice": {"engine", "model", "voice", '
        '"pitch", "tempo", "volume_db", "language"}}.',
    ),
    intro: str | None = typer.Option(None, "--intro", help="The lead host's opening line ('' for the default)."),
    outro: str | None = typer.Option(None, "--outro", help="The lead host's closing line ('' for the default)."),
    music: bool | None = typer.Option(None, "--music/--no-music", help="Mix the music bed under the speech."),
    loudness: float | None = typer.Option(None, "--loudness", help="Loudness target of the master in LUFS."),
    review: bool | None = typer.Option(None, "--review/--no-review", help="Hold each new script for approval."),
    pronounce: list[str] = typer.Option([], "--pronounce", help="TEXT=SAY, spoken as SAY (repeatable)."),
    unpronounce: list[str] = typer.Option([], "--unpronounce", help="Drop TEXT from the lexicon (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="The show, as one JSON object on stdout."),
) -> None:
    """Change a show's bible; the rules are the API's, and nothing changes when one is broken."""
    changes: dict[str, Any] = {
        key: value
        for key, value in {
            "title": title,
            "description": description,
            "author": author,
            "language": language,
            "music": music,
            "loudness_lufs": loudness,
            "review": review,
        }.items()
        if value is not None
    }
    for key, value in (("intro", intro), ("outro", outro)):
        if value is not None:
            changes[key] = value or None
    if hosts is not None:
        try:
            changes["hosts"] = json.loads(hosts)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"--hosts must be JSON: {exc.msg} at character {exc.pos}", field="hosts") from None

    async def change(conn: AsyncConnection) -> dict[str, Any]:
        show = await _by_slug(conn, slug)
        if pronounce or unpronounce:
            changes["pronunciations"] = _pronunciations(list(show["pronunciations"] or []), pronounce, unpronounce)
        try:
            patch = ShowPatch.model_validate(changes).model_dump(exclude_unset=True)
        except ValidationError as exc:
            raise invalid(exc) from None
        return await shows.update_show(conn, show["user_id"], show["id"], patch, settings=get_settings())

    updated = _json(in_transaction(change, actor=cli_actor()))
    if as_json:
        print_json(updated)
    else:
        console.print(f"show {slug} updated")
