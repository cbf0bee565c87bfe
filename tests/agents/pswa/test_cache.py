"""The generated-script cache on both backends (the test's PostgreSQL database and a SQLite file): miss, hit
counting, the first entry for a key winning, concurrent use, and what the key is made of."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from aether.agents.pswa import offline
from aether.agents.pswa import write as pswa
from aether.agents.pswa.cache import (
    CacheEntry,
    PostgresScriptCache,
    ScriptCache,
    SqliteScriptCache,
    cache_key,
    open_cache,
    topic_hash,
)
from aether.agents.pswa.script import ScriptRequest
from aether.config import Settings
from aether.db.pool import Database
from tests.agents.pswa.test_offline import snippet
from tests.agents.pswa.test_script import script_data


@pytest.fixture(params=["postgres", "sqlite"])
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> ScriptCache:
    if request.param == "postgres":
        return PostgresScriptCache(request.getfixturevalue("adb"))
    return SqliteScriptCache(tmp_path / "not-yet" / "scripts.db")  # the folder is created on first use


async def stored(cache: ScriptCache) -> list[dict[str, Any]]:
    """The rows of the backend's `generated_scripts` table, read with the backend's own database."""
    if isinstance(cache, PostgresScriptCache):
        return [dict(r) for r in await cache.db.fetch_all("SELECT * FROM generated_scripts ORDER BY id")]
    assert isinstance(cache, SqliteScriptCache)
    with sqlite3.connect(cache.path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM generated_scripts ORDER BY id")]


def entry(key: str = "a" * 64, **changes: Any) -> CacheEntry:
    fields: dict[str, Any] = {
        "cache_key": key,
        "topic_hash": "b" * 64,
        "writer": "llm",
        "model": "standin-model",
        "prompt_version": "llm-1",
        "script": script_data(),
        "token_usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "calls": 1},
    }
    fields.update(changes)
    return CacheEntry(**fields)


# ---- both backends ------------------------------------------------------------------------------


async def test_a_miss_then_hits_that_count(cache: ScriptCache) -> None:
    new = entry()
    assert await cache.hit(new.cache_key) is None
    await cache.put(new)
    (row,) = await stored(cache)
    assert row["hit_count"] == 0 and row["last_used_at"] is not None and row["created_at"] is not None
    first = await cache.hit(new.cache_key)
    assert first == CacheEntry(**{**new.__dict__, "hit_count": 1})
    second = await cache.hit(new.cache_key)
    assert second is not None and second.hit_count == 2
    (row,) = await stored(cache)
    assert row["hit_count"] == 2 and row["last_used_at"] is not None
    assert await cache.hit("c" * 64) is None and len(await stored(cache)) == 1  # a miss writes nothing


async def test_the_first_entry_for_a_key_wins(cache: ScriptCache) -> None:
    first = entry(script=script_data(episode_title="First"))
    await cache.put(first)
    await cache.put(entry(script=script_data(episode_title="Second"), writer="offline", model=None))
    found = await cache.hit(first.cache_key)
    assert found is not None and found.script["episode_title"] == "First" and found.writer == "llm"
    assert len(await stored(cache)) == 1


async def test_scripts_and_usage_round_trip_exactly(cache: ScriptCache) -> None:
    script = script_data(description="Zürich – “quoted” 🎙️ and a backslash \\ too", notes=["ü"])
    await cache.put(entry("d" * 64, script=script, token_usage=None, model=None, writer="offline"))
    await cache.put(entry("e" * 64))
    plain = await cache.hit("d" * 64)
    assert plain is not None and plain.script == script and plain.token_usage is None and plain.model is None
    with_usage = await cache.hit("e" * 64)
    assert with_usage is not None and with_usage.token_usage == entry().token_usage


async def test_concurrent_puts_and_hits(cache: ScriptCache) -> None:
    """Writers racing on one key leave one row; every hit is counted once, each seeing its own count."""
    await asyncio.gather(*(cache.put(entry(script=script_data(episode_title=f"Writer {i}"))) for i in range(8)))
    rows = await stored(cache)
    assert len(rows) == 1
    hits = await asyncio.gather(*(cache.hit("a" * 64) for _ in range(20)))
    assert sorted(h.hit_count for h in hits if h is not None) == list(range(1, 21))
    assert len({h.script["episode_title"] for h in hits if h is not None}) == 1
    (row,) = await stored(cache)
    assert row["hit_count"] == 20


# ---- the key ------------------------------------------------------------------------------------


def _request(settings: Settings, **changes: Any) -> ScriptRequest:
    payload: dict[str, Any] = {"snippets": [snippet(1, facts=3), snippet(2, facts=3)], "minutes": 2, **changes}
    return ScriptRequest.parse(payload, settings)


def _key(req: ScriptRequest, writer: str = "offline", model: str | None = None, version: str = "offline-1") -> str:
    return cache_key(req, writer=writer, model=model, prompt_version=version)


def test_the_key_is_a_stable_sha256(plain_settings: Settings) -> None:
    req = _request(plain_settings)
    key = _key(req)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    copy = ScriptRequest.model_validate(json.loads(req.model_dump_json()))
    assert _key(copy) == key and _key(_request(plain_settings)) == key


def _with(snippets: list[dict[str, Any]], change: Any) -> list[dict[str, Any]]:
    changed = json.loads(json.dumps(snippets))
    change(changed)
    return changed


@pytest.mark.parametrize(
    "change",
    [
        {"minutes": 3},
        {"hosts": ["Ann", "Bo"]},
        {"hosts": [{"name": "Alex", "persona": "someone else"}, {"name": "Sam"}]},
        {"show_title": "Harbor Hour"},
        {"language": "en-GB"},
        {"snippets": lambda s: s[0].update(headline="Another headline")},
        {"snippets": lambda s: s[0].update(summary="A summary now")},
        {"snippets": lambda s: s[0].update(topic_id="another-topic")},
        {"snippets": lambda s: s[0]["facts"][0].update(text="Another fact.")},
        {"snippets": lambda s: s[0]["facts"][0].update(source_url="https://elsewhere.example/")},
        {"snippets": lambda s: s[0]["facts"][0].update(source_title="Another title")},
        {"snippets": lambda s: s[0]["facts"].reverse()},
        {"snippets": lambda s: s.reverse()},
    ],
)
def test_the_key_covers_every_input_of_the_writers(plain_settings: Settings, change: dict[str, Any]) -> None:
    base = _request(plain_settings)
    payload = {"snippets": [s.model_dump() for s in base.snippets], "minutes": 2}
    if callable(change.get("snippets")):
        payload["snippets"] = _with(payload["snippets"], change["snippets"])
    else:
        payload.update(change)
    assert _key(ScriptRequest.parse(payload, plain_settings)) != _key(base)


def test_the_key_covers_the_writer_model_prompt_and_speaking_rate(plain_settings: Settings) -> None:
    req = _request(plain_settings)
    keys = {
        _key(req),
        _key(req, writer="llm", model="m1", version="llm-1"),
        _key(req, writer="llm", model="m2", version="llm-1"),
        _key(req, writer="llm", model="m1", version="llm-2"),
        _key(_request(plain_settings.model_copy(update={"script_words_per_minute": 120}))),
    }
    assert len(keys) == 5


def test_the_key_includes_the_snippets_source_lists(plain_settings: Settings) -> None:
    """A writer may cite a snippet's listed sources, so two requests that differ there differ in key."""
    with_sources = _request(plain_settings)
    for s in with_sources.snippets:
        s.sources = [{"url": "https://listed.example/", "title": "Listed", "fetched_at": "today"}]
    assert _key(with_sources) != _key(_request(plain_settings))


def test_the_topic_hash_is_the_stories_not_the_rest(plain_settings: Settings) -> None:
    req = _request(plain_settings)
    assert topic_hash(req) == topic_hash(_request(plain_settings, minutes=9, show_title="Other", hosts=["Solo"]))
    fewer = _request(plain_settings, snippets=[snippet(1, facts=1), snippet(2, facts=1)])
    assert topic_hash(fewer) == topic_hash(req)
    other = _request(plain_settings, snippets=[snippet(1, facts=3), snippet(3, facts=3)])
    assert topic_hash(other) != topic_hash(req) and re.fullmatch(r"[0-9a-f]{64}", topic_hash(req))


async def test_a_cached_script_never_cites_sources_the_request_does_not_have(adb: Database, settings: Settings) -> None:
    def summary_only(url: str) -> ScriptRequest:
        story = {"headline": "Ferry back", "summary": "The ferry resumed on Tuesday.", "sources": [{"url": url}]}
        return ScriptRequest.parse({"snippets": [story], "minutes": 1}, settings)

    first = await pswa.write_script(adb, settings, summary_only("https://one.example/a"), writer="offline")
    assert [s["url"] for s in first.script["sources"]] == ["https://one.example/a"]
    other = summary_only("https://two.example/b")
    assert offline.write_offline(other).sources[0].url == "https://two.example/b"  # what the writer would say
    second = await pswa.write_script(adb, settings, other, writer="offline")
    assert [s["url"] for s in second.script["sources"]] == ["https://two.example/b"]


# ---- choosing the backend -----------------------------------------------------------------------


async def test_open_cache_picks_the_backend_from_the_settings(adb: Database, settings: Settings) -> None:
    default = open_cache(settings, adb)
    assert isinstance(default, PostgresScriptCache) and default.db is adb and default.name == "postgres"
    sqlite_default = open_cache(settings.model_copy(update={"script_cache": "sqlite"}), adb)
    assert isinstance(sqlite_default, SqliteScriptCache) and sqlite_default.name == "sqlite"
    assert sqlite_default.path == settings.home / "scripts.db"
    chosen = settings.home / "elsewhere" / "cache.db"
    explicit = open_cache(settings.model_copy(update={"script_cache": "sqlite", "script_cache_path": chosen}), adb)
    assert isinstance(explicit, SqliteScriptCache) and explicit.path == chosen


async def test_the_sqlite_file_has_the_columns_of_the_postgres_table(adb: Database, tmp_path: Path) -> None:
    lite = SqliteScriptCache(tmp_path / "scripts.db")
    assert await lite.hit("f" * 64) is None  # the first use creates the file and its table
    with sqlite3.connect(lite.path) as conn:
        lite_columns = [row[1] for row in conn.execute("PRAGMA table_info(generated_scripts)")]
        indexes = [row[1] for row in conn.execute("PRAGMA index_list(generated_scripts)")]
    rows = await adb.fetch_all(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'generated_scripts' "
        "ORDER BY ordinal_position"
    )
    assert lite_columns == [r["column_name"] for r in rows]
    assert "idx_generated_scripts_topic_hash" in indexes
