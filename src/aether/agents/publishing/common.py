"""Shared publishing helpers (Telegram, YouTube, feeds) and the WebSub feed ping.

* `send_with_retries`: one HTTP call to a platform with the rules every platform shares: 429 waits the
  time the platform asks for (`retry_after` / `Retry-After`), 5xx and network errors back off
  exponentially, anything else goes back to the caller.
* `mark_agent_error`: a revoked token or an exhausted quota puts the agent in `error` with the reason, so
  people see why publishing stopped (and the task fails permanently).
* `secret_for`: a credential's plaintext from the encrypted credentials store.
* `ping_hub`: WebSub (W3C) publish notification: `hub.mode=publish` and `hub.url=<feed>` sent to the hub,
  so podcast apps subscribed through it fetch the changed feed at once. Task type `publish.websub`.
"""

from __future__ import annotations

import asyncio
import html
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from aether.agents.registry import set_error
from aether.analytics.recording import FEED_PINGS, record_async
from aether.config import Settings
from aether.db import Database
from aether.errors import PlatformRejected, PlatformUnavailable, ValidationFailed
from aether.queue.tasks import JSON, Blueprint, TaskContext
from aether.security.credentials import find_secret
from aether.storage import ObjectStore

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO, and the Bot API carries its token in the URL: never log it.
logging.getLogger("httpx").setLevel(max(logging.getLogger("httpx").level, logging.WARNING))

Sleep = Callable[[float], Awaitable[None]]


tasks = Blueprint()


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(max_retries=settings.publish_max_retries)

    def backoff(self, attempt: int) -> float:
        """Exponential back-off with jitter for retry number `attempt` (0-based)."""
        delay = min(self.max_delay_s, self.base_delay_s * 2.0**attempt)
        return float(delay * (0.5 + random.random() / 2))


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a 429/503 asks for: Telegram's `parameters.retry_after`, else the Retry-After header."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        params = body.get("parameters")
        wait = params.get("retry_after") if isinstance(params, dict) else None
        if isinstance(wait, int | float):
            return float(wait)
    header = response.headers.get("retry-after")
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    return max(0.0, (when - datetime.now(UTC)).total_seconds())


async def send_with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    policy: RetryPolicy,
    what: str,
    sleep: Sleep = asyncio.sleep,
) -> httpx.Response:
    """Call `send` until it answers something other than 429/5xx/a network error, within `policy`."""
    attempt = 0
    while True:
        try:
            response = await send()
        except httpx.TransportError as exc:
            if attempt >= policy.max_retries:
                raise PlatformUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc
            delay = policy.backoff(attempt)
            log.warning("%s: %s, retrying in %.2fs", what, type(exc).__name__, delay)
        else:
            status = response.status_code
            if status != 429 and status < 500:
                return response
            if attempt >= policy.max_retries:
                raise PlatformUnavailable(f"{what}: HTTP {status} after {attempt + 1} attempts")
            if status == 429:
                wait = retry_after_seconds(response)
                delay = policy.backoff(attempt) if wait is None else wait
                if delay > policy.max_retry_after_s:
                    raise PlatformUnavailable(f"{what}: rate limited for {delay:.0f}s; the task retries later")
                log.warning("%s: rate limited, waiting %.2fs as asked", what, delay)
            else:
                delay = policy.backoff(attempt)
                log.warning("%s: HTTP %s, retrying in %.2fs", what, status, delay)
        attempt += 1
        await sleep(delay)


# ---- agents' state --------------------------------------------------------------------------------


async def mark_agent_error(db: Database, agent: str, reason: str) -> None:
    """Put the agent in `error` with the reason, in a transaction of its own (the security package's
    agent registry: `aether.agents.registry.set_error`); the admin page shows why it stopped."""

    await set_error(db, agent, reason)


async def agent_config(db: Database, agent: str) -> dict[str, Any]:
    """`agents.config` of the agent named `agent` (or the first of that type); {} when none."""
    row = await db.fetch_one(
        "SELECT config FROM agents WHERE name = %(a)s OR type = %(a)s ORDER BY (name = %(a)s) DESC, id LIMIT 1",
        {"a": agent},
    )
    config = row["config"] if row else None
    return dict(config) if isinstance(config, dict) else {}


# ---- credentials ----------------------------------------------------------------------------------


async def secret_for(db: Database, settings: Settings, platform: str, key: str, *, agent: str) -> str | None:
    """The plaintext of credential (agent, platform, key) from the encrypted store (the agent's own, else a
    shared one), refreshed first when it is about to expire; None when none is stored. Never log it."""

    return await find_secret(db, settings, agent=agent, platform=platform, key=key)


# ---- media and links ------------------------------------------------------------------------------


def local_media(ref: str, field: str, settings: Settings | None = None) -> Path:
    """A media reference as a readable local file: a path or `file://` URI as is; a `gs://` / `s3://`
    object of the object store downloaded under AETHER_HOME/tmp/publish. A clear error otherwise."""
    if not isinstance(ref, str) or not ref.strip():
        raise ValidationFailed(f"{field} must name a media file", field=field)
    parts = urlsplit(ref)
    if parts.scheme in ("", "file"):
        path = Path(unquote(parts.path) if parts.scheme == "file" else ref)
    elif settings is None:
        raise ValidationFailed(f"{field}: {ref} is not a local file", field=field)
    else:
        folder = settings.home.resolve() / "tmp" / "publish"
        folder.mkdir(parents=True, exist_ok=True)
        name = Path(unquote(parts.path)).name or "media"
        try:
            path = ObjectStore.from_settings(settings).download(ref, folder / name)
        except Exception as exc:
            raise ValidationFailed(f"{field}: cannot fetch {ref} from the object store: {exc}", field=field) from None
    if not path.is_file():
        raise ValidationFailed(f"{field}: no such file {path}", field=field)
    return path


def require_text(payload: Mapping[str, Any], key: str, *, limit: int = 5000, required: bool = True) -> str:
    value = payload.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(f"{key} is required", field=key)
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{key} must be text", field=key)
    if len(value) > limit:
        raise ValidationFailed(f"{key} must be at most {limit} characters", field=key)
    return value.strip()


def require_url(payload: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = require_text(payload, key, limit=2000, required=required)
    if value and urlsplit(value).scheme not in ("http", "https"):
        raise ValidationFailed(f"{key} must be an http(s) URL", field=key)
    return value


def caption_html(title: str, summary: str, page_url: str, feed_url: str, *, limit: int = 1024) -> str:
    """A Telegram-HTML caption: bold title, summary, then links to the episode page and the feed."""
    links = []
    if page_url:
        links.append(f'<a href="{html.escape(page_url, quote=True)}">Episode page</a>')
    if feed_url:
        links.append(f'<a href="{html.escape(feed_url, quote=True)}">Podcast feed</a>')
    head = f"<b>{html.escape(title)}</b>"
    tail = " · ".join(links)
    # Telegram counts the caption's text after entities are parsed; the budget is kept on the visible text.
    visible = len(title) + (len("Episode page · Podcast feed") if links else 0) + 4
    room = max(0, limit - visible)
    body = summary if len(summary) <= room else summary[: max(0, room - 1)].rstrip() + "…"
    parts = [head]
    if body:
        parts.append(html.escape(body))
    if tail:
        parts.append(tail)
    return "\n\n".join(parts)


# ---- WebSub ---------------------------------------------------------------------------------------


async def ping_hub(
    client: httpx.AsyncClient,
    hub_url: str,
    feed_urls: Sequence[str],
    *,
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
) -> int:
    """Tell the WebSub hub that the feeds changed (`hub.mode=publish`); returns the hub's status code."""
    data: dict[str, Any] = {"hub.mode": "publish", "hub.url": list(feed_urls)}

    async def send() -> httpx.Response:
        return await client.post(hub_url, data=data)

    response = await send_with_retries(send, policy=policy, what=f"WebSub ping to {hub_url}", sleep=sleep)
    if response.status_code >= 300:
        raise PlatformRejected(
            f"WebSub hub {hub_url} refused the ping: HTTP {response.status_code} {response.text[:200]}",
            status=response.status_code,
        )
    return response.status_code


def feed_urls_of(payload: Mapping[str, Any]) -> list[str]:
    urls = payload.get("feed_urls")
    if urls is None:
        return [require_url(payload, "feed_url")]
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise ValidationFailed("feed_urls must be a non-empty list of URLs", field="feed_urls")
    return [require_url({"feed_urls": u}, "feed_urls") for u in urls]


async def websub_publish(
    ctx: TaskContext,
    payload: JSON,
    *,
    client: httpx.AsyncClient | None = None,
    sleep: Sleep = asyncio.sleep,
) -> JSON:
    """Ping the configured hub for the feed(s) in `payload`; a no-op without AETHER_WEBSUB_HUB_URL."""
    hub = payload.get("hub_url") or ctx.settings.websub_hub_url
    if not hub:
        return {"pinged": False, "reason": "AETHER_WEBSUB_HUB_URL is not set"}
    hub_url = require_url({"hub_url": hub}, "hub_url")
    feeds = feed_urls_of(payload)
    policy = RetryPolicy.from_settings(ctx.settings)
    owned = client is None
    http = client or httpx.AsyncClient(timeout=ctx.settings.publish_timeout_s)
    try:
        status = await ping_hub(http, hub_url, feeds, policy=policy, sleep=sleep)
    finally:
        if owned:
            await http.aclose()
    async with ctx.db.transaction() as conn:
        for feed in feeds:
            await record_async(conn, FEED_PINGS, 1, "publish", feed_url=feed, show_id=payload.get("show_id"))
    return {"pinged": True, "hub_url": hub_url, "feed_urls": feeds, "status": status}


@tasks.task("publish.websub", agent="publish")
async def websub_handler(ctx: TaskContext, payload: JSON) -> JSON:
    # A ping repeated after a retry is harmless (the hub re-fetches the feed), so no once-guard here.
    return await websub_publish(ctx, payload)
