"""What a gateway process keeps in memory, and how the database tells it to forget.

Every gateway process holds one extra connection that LISTENs on the channels migrations 0012 and 0013
announce on (when the changing transaction commits):

* `aether_sessions`: `s:<session_id>` or `u:<user_id>`, for `SessionCache`, the checked sessions;
* `aether_episodes`: `<show_id>` (or `*`), for `PageCache`, the rendered pages of shows' episode lists.

While the connection is down, nothing is served from either cache (the caches are told so), and the
listener reconnects with back-off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from aether.config import Settings
from aether.db.pool import connect_async
from aether.security.sessions import Session

log = logging.getLogger(__name__)

SESSIONS = "aether_sessions"
EPISODES = "aether_episodes"


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Expiring(Generic[K, V]):
    """Entries kept for `ttl` seconds at most; full at `max_entries`, it starts again empty."""

    def __init__(self, ttl: float, max_entries: int) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry[0] > self.ttl:
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), value)

    def drop(self, where: Callable[[V], bool]) -> None:
        for key, (_, value) in list(self._entries.items()):
            if where(value):
                self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


class SessionCache:
    """Checked sessions by token for a few seconds (AETHER_SESSION_CACHE_SECONDS), so a burst of API calls
    costs one lookup.

    A session changed or revoked through this process is forgotten at once; through any other process,
    as soon as its announcement on `aether_sessions` arrives. While the announcements cannot be heard
    (LISTEN off, connection lost) the cache holds nothing, unless `trust_ttl` says the TTL alone may
    bound staleness (AETHER_DATABASE_LISTEN=false, e.g. PgBouncer). Every forget bumps `generation`: a
    lookup that started before one must not be cached after it."""

    def __init__(self, ttl: float, *, trust_ttl: bool = False) -> None:
        self.ttl = ttl
        self.listening = trust_ttl
        self.generation = 0
        self._sessions: Expiring[str, Session] = Expiring(ttl, 10_000)

    def get(self, token: str) -> Session | None:
        return self._sessions.get(token)

    def put(self, session: Session, generation: int) -> None:
        if self.ttl > 0 and self.listening and generation == self.generation:
            self._sessions.put(session.token, session)

    def forget(self, session_id: str | None = None) -> None:
        """Forget one session (by id), or every one."""
        self.generation += 1
        if session_id is None:
            self._sessions.clear()
        else:
            self._sessions.drop(lambda session: session.session_id == session_id)

    def forget_user(self, user_id: int) -> None:
        self.generation += 1
        self._sessions.drop(lambda session: session.user_id == user_id)

    def set_listening(self, listening: bool) -> None:
        """Announcements are (or are no longer) heard; either way, what was cached may be stale."""
        self.listening = listening
        self.forget()

    def announce(self, payload: str) -> None:
        """Apply one `aether_sessions` notification: `s:<session_id>` or `u:<user_id>`."""
        kind, _, ident = payload.partition(":")
        if kind == "s" and ident:
            self.forget(ident)
        elif kind == "u" and ident.isdigit():
            self.forget_user(int(ident))
        else:
            self.forget()


class PageCache:
    """Rendered JSON pages of a show's episode list, by (user, show, page parameters), for `ttl` seconds
    at most; a page is forgotten as soon as an episode of its show changes anywhere.

    `generation(show)` is read before a page is built from the database and handed back to `put`: a page
    built from data that changed meanwhile is not kept."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.listening = False
        self._pages: Expiring[Hashable, tuple[int, bytes]] = Expiring(ttl, 4096)
        self._generations: dict[int, int] = {}
        self._epoch = 0

    def generation(self, show_id: int) -> tuple[int, int]:
        return self._epoch, self._generations.get(show_id, 0)

    def get(self, key: Hashable) -> bytes | None:
        page = self._pages.get(key)
        return page[1] if page is not None else None

    def put(self, key: Hashable, show_id: int, generation: tuple[int, int], body: bytes) -> None:
        if self.ttl > 0 and self.listening and generation == self.generation(show_id):
            self._pages.put(key, (show_id, body))

    def forget_show(self, show_id: int) -> None:
        self._generations[show_id] = self._generations.get(show_id, 0) + 1
        if len(self._generations) > 100_000:
            self.forget_all()
        else:
            self._pages.drop(lambda page: page[0] == show_id)

    def forget_all(self) -> None:
        self._epoch += 1
        self._generations.clear()
        self._pages.clear()

    def set_listening(self, listening: bool) -> None:
        self.listening = listening
        self.forget_all()

    def announce(self, payload: str) -> None:
        if payload.isdigit():
            self.forget_show(int(payload))
        else:
            self.forget_all()


async def listen(
    settings: Settings,
    url: str,
    channels: dict[str, Callable[[str], None]],
    on_state: Callable[[bool], None],
) -> None:
    """Forever: LISTEN on `channels`, hand each payload to its channel's callback; `on_state(True)` once
    listening, `on_state(False)` when the connection is lost (then reconnect with back-off)."""

    delay = 0.5
    while True:
        try:
            conn = await connect_async(url, settings, autocommit=True, application="aether-gateway-listen")
            try:
                for channel in channels:
                    await conn.execute(f"LISTEN {channel}")
                on_state(True)
                delay = 0.5
                async for note in conn.notifies():
                    handler = channels.get(note.channel)
                    if handler is not None:
                        handler(note.payload)
            finally:
                on_state(False)
                await conn.close()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database restarts or fails over: caches stay empty meanwhile
            log.warning("change announcements unavailable (%s); retrying in %.1f s", exc, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 10.0)
