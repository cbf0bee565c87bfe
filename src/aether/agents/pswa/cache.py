"""The generated-script cache: PostgreSQL `generated_scripts` (default) or a SQLite file with the same columns.

The key is sha256 over the canonical JSON of (request, writer, model, prompt version): a second request
with the same inputs costs nothing. A hit increments `hit_count` and sets `last_used_at`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from psycopg.types.json import Jsonb

from aether.agents.pswa.script import ScriptRequest
from aether.config import Settings
from aether.db.pool import Database
from aether.db.queries import load_queries

Q = load_queries(__file__, "cache.sql")

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS generated_scripts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  cache_key CHAR(64) NOT NULL UNIQUE,
  topic_hash CHAR(64) NOT NULL,
  writer VARCHAR(50) NOT NULL,
  model VARCHAR(200),
  prompt_version VARCHAR(50) NOT NULL,
  script_content TEXT NOT NULL,
  token_usage TEXT,
  hit_count INTEGER NOT NULL DEFAULT 0,
  last_used_at TIMESTAMP,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_generated_scripts_topic_hash ON generated_scripts(topic_hash);
"""


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def topic_hash(request: ScriptRequest) -> str:
    return _digest([[s.topic_id or s.id, s.headline] for s in request.snippets])


def cache_key(request: ScriptRequest, *, writer: str, model: str | None, prompt_version: str) -> str:
    inputs = request.model_dump(mode="json")  # all of it: a writer may read any part (e.g. a snippet's sources)
    return _digest({"inputs": inputs, "writer": writer, "model": model, "prompt_version": prompt_version})


@dataclass(frozen=True)
class CacheEntry:
    cache_key: str
    topic_hash: str
    writer: str
    model: str | None
    prompt_version: str
    script: dict[str, Any]
    token_usage: dict[str, Any] | None = None
    hit_count: int = 0


class ScriptCache(Protocol):
    name: str

    async def hit(self, key: str) -> CacheEntry | None:
        """The entry for `key`, counting the hit; None when absent."""
        ...

    async def put(self, entry: CacheEntry) -> None:
        """Store the entry (a concurrent writer's entry for the same key wins; both are equal)."""
        ...


class PostgresScriptCache:
    name = "postgres"

    def __init__(self, db: Database) -> None:
        self.db = db

    async def hit(self, key: str) -> CacheEntry | None:
        async with self.db.transaction() as conn:
            row = await (await conn.execute(Q.cache_hit, {"cache_key": key})).fetchone()
        if row is None:
            return None
        return CacheEntry(
            cache_key=row["cache_key"],
            topic_hash=row["topic_hash"],
            writer=row["writer"],
            model=row["model"],
            prompt_version=row["prompt_version"],
            script=row["script_content"],
            token_usage=row["token_usage"],
            hit_count=row["hit_count"],
        )

    async def put(self, entry: CacheEntry) -> None:
        await self.db.execute(
            Q.cache_put,
            {
                "cache_key": entry.cache_key,
                "topic_hash": entry.topic_hash,
                "writer": entry.writer,
                "model": entry.model,
                "prompt_version": entry.prompt_version,
                "script_content": Jsonb(entry.script),
                "token_usage": Jsonb(entry.token_usage) if entry.token_usage is not None else None,
            },
        )


class SqliteScriptCache:
    """The seed's optional SQLite backend: one file, a connection per operation (safe across threads)."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        if not self._ready:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SQLITE_SCHEMA)
            self._ready = True
        return conn

    def _hit(self, key: str) -> CacheEntry | None:
        conn = self._connect()
        try:
            with conn:
                conn.execute(
                    "UPDATE generated_scripts SET hit_count = hit_count + 1, last_used_at = CURRENT_TIMESTAMP, "
                    "updated_at = CURRENT_TIMESTAMP WHERE cache_key = ?",
                    (key,),
                )
                row = conn.execute(
                    "SELECT cache_key, topic_hash, writer, model, prompt_version, script_content, token_usage, "
                    "hit_count FROM generated_scripts WHERE cache_key = ?",
                    (key,),
                ).fetchone()
        finally:
            conn.close()
        if row is None:
            return None
        return CacheEntry(
            cache_key=row[0],
            topic_hash=row[1],
            writer=row[2],
            model=row[3],
            prompt_version=row[4],
            script=json.loads(row[5]),
            token_usage=json.loads(row[6]) if row[6] else None,
            hit_count=row[7],
        )

    def _put(self, entry: CacheEntry) -> None:
        conn = self._connect()
        try:
            with conn:
                conn.execute(
                    "INSERT OR IGNORE INTO generated_scripts (cache_key, topic_hash, writer, model, prompt_version, "
                    "script_content, token_usage, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)",
                    (
                        entry.cache_key,
                        entry.topic_hash,
                        entry.writer,
                        entry.model,
                        entry.prompt_version,
                        json.dumps(entry.script, ensure_ascii=False),
                        json.dumps(entry.token_usage) if entry.token_usage is not None else None,
                    ),
                )
        finally:
            conn.close()

    async def hit(self, key: str) -> CacheEntry | None:
        return await asyncio.to_thread(self._hit, key)

    async def put(self, entry: CacheEntry) -> None:
        await asyncio.to_thread(self._put, entry)


def open_cache(settings: Settings, db: Database) -> ScriptCache:
    if settings.script_cache == "sqlite":
        path = settings.script_cache_path or settings.home / "scripts.db"
        return SqliteScriptCache(Path(path))
    return PostgresScriptCache(db)
