"""What a gateway process keeps in memory, and how the database tells it to forget.

Every gateway process holds one extra connection that LISTENs on the channels migrations 0012 and 0013
announce on (when the changing transaction commits):

* `aether_sessions`: `s:<session_id>` or `u:<user_id>`, for the session cache (`deps.SessionCache`);
* `aether_episodes`: `<show_id>` (or `*`), for `PageCache`, the rendered pages of shows' episode lists.

While the connection is down, nothing is served from either cache (the caches are told so), and the
listener reconnects with back-off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aether.config import Settings

log = logging.getLogger(__name__)

SESSIONS = "aether_sessions"
EPISODES = "aether_episodes"


class PageCache:
    """Rendered JSON pages of a show's episode list, by (user, show, page parameters), for `ttl` seconds
    at most; a page is forgotten as soon as an episode of its show changes anywhere.

    `generation(show)` is read before a page is built from the database and handed back to `put`: a page
    built from data that changed meanwhile is not kept."""

    MAX_ENTRIES = 4096

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.listening = False
        self._entries: dict[Hashable, tuple[float, int, bytes]] = {}
        self._generations: dict[int, int] = {}
        self._epoch = 0

    def generation(self, show_id: int) -> int:
        return self._epoch * 1_000_003 + self._generations.get(show_id, 0)

    def get(self, key: Hashable) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry[0] > self.ttl:
            self._entries.pop(key, None)
            return None
        return entry[2]

    def put(self, key: Hashable, show_id: int, generation: int, body: bytes) -> None:
        if self.ttl <= 0 or not self.listening or generation != self.generation(show_id):
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), show_id, body)

    def forget_show(self, show_id: int) -> None:
        self._generations[show_id] = self._generations.get(show_id, 0) + 1
        if len(self._generations) > 100_000:
            self.forget_all()
            return
        for key, (_, show, _) in list(self._entries.items()):
            if show == show_id:
                self._entries.pop(key, None)

    def forget_all(self) -> None:
        self._epoch += 1
        self._generations.clear()
        self._entries.clear()

    def set_listening(self, listening: bool) -> None:
        self.listening = listening
        self.forget_all()

    def announce(self, payload: str) -> None:
        if payload.isdigit():
            self.forget_show(int(payload))
        else:
            self.forget_all()


class ForgetPagesOnWrite:
    """ASGI middleware: a write through this process (any unsafe method) drops every rendered page before
    its response starts, so its client reads its own write here at once, whatever it changed; the other
    processes learn of it from the announcement."""

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: ASGIApp, pages: PageCache) -> None:
        self.app = app
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in self.SAFE_METHODS:
            await self.app(scope, receive, send)
            return

        async def forgetting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.pages.forget_all()
            await send(message)

        await self.app(scope, receive, forgetting_send)


async def listen(
    settings: Settings,
    url: str,
    channels: dict[str, Callable[[str], None]],
    on_state: Callable[[bool], None],
) -> None:
    """Forever: LISTEN on `channels`, hand each payload to its channel's callback; `on_state(True)` once
    listening, `on_state(False)` when the connection is lost (then reconnect with back-off)."""
    from aether.db.pool import connect_async

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
