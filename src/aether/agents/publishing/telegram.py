"""Telegram agent: a new episode goes to the show's chats and channels through the Bot API.

`sendAudio` carries the MP3 with title, performer, duration and the cover as thumbnail (a JPEG of at
most 320 px, as the Bot API asks), with a caption linking the episode page and the feed; `sendMessage`
sends plain text posts. The bot token comes from the encrypted credentials store (platform `telegram`,
key `bot_token`). 429 waits `retry_after`, 5xx backs off, 401/403 mark the agent `error` (bad or revoked
token). Each post runs under the idempotency guard with the returned message id as its recorded result,
so a retried or rescued task never posts twice.

Task type `telegram.publish`, payload:
    {"chat_ids": ["@channel", -100123], "title", "performer", "description", "audio": path or URI,
     "cover": path or URI, "duration_seconds", "page_url", "feed_url", "show_id", "episode_id"}
or {"chat_ids": [...], "text": "..."} for a text post. Without `chat_ids` the telegram agent's
`config.chat_ids` is used.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from aether.agents.publishing.common import (
    RetryPolicy,
    Sleep,
    agent_config,
    caption_html,
    local_media,
    mark_agent_error,
    require_text,
    require_url,
    secret_for,
    send_with_retries,
)
from aether.analytics.recording import MESSAGES_SENT, record_async
from aether.config import Settings
from aether.errors import (
    AgentDisabled,
    PermanentError,
    PlatformAuthError,
    PlatformRejected,
    PlatformUnavailable,
    ValidationFailed,
)
from aether.queue.tasks import JSON, Blueprint, TaskContext

log = logging.getLogger(__name__)

AGENT = "telegram"
THUMB_MAX_PX = 320
THUMB_MAX_BYTES = 200 * 1024
MAX_TEXT = 4096


tasks = Blueprint()


@dataclass(frozen=True)
class AudioPost:
    chat_id: str | int
    audio: Path
    title: str
    performer: str
    duration_s: int | None
    caption: str
    thumbnail: bytes | None


class TelegramBot:
    """A small Bot API client (`https://api.telegram.org/bot<token>/<method>`)."""

    def __init__(
        self,
        token: str,
        client: httpx.AsyncClient,
        *,
        base_url: str = "https://api.telegram.org",
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not token or ":" not in token:
            raise ValidationFailed("the Telegram bot token must look like 123456:ABC-...", field="bot_token")
        self._token = token
        self._client = client
        self._base = base_url.rstrip("/")
        self._policy = policy or RetryPolicy()
        self._sleep = sleep

    def _url(self, method: str) -> str:
        return f"{self._base}/bot{self._token}/{method}"

    async def call(
        self,
        method: str,
        data: dict[str, Any],
        files: dict[str, tuple[str, bytes | io.BufferedReader, str]] | None = None,
    ) -> JSON:
        """Call a Bot API method; returns its `result`. Retries 429/5xx; raises on every other failure."""

        async def send() -> httpx.Response:
            if files:
                for _, content, _ in files.values():
                    if isinstance(content, io.BufferedReader):
                        content.seek(0)
                return await self._client.post(self._url(method), data=data, files=files)
            return await self._client.post(self._url(method), json=data)

        try:
            response = await send_with_retries(send, policy=self._policy, what=f"Telegram {method}", sleep=self._sleep)
        except PlatformUnavailable as exc:  # never let the token (part of the URL) reach a message
            raise PlatformUnavailable(str(exc).replace(self._token, "<token>")) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        description = str(body.get("description") or response.reason_phrase or "") if isinstance(body, dict) else ""
        if response.status_code in (401, 403):
            raise PlatformAuthError(f"Telegram {method}: HTTP {response.status_code} {description}".strip())
        if response.status_code >= 300 or not isinstance(body, dict) or not body.get("ok"):
            raise PlatformRejected(
                f"Telegram {method} refused: HTTP {response.status_code} {description}".strip(),
                status=response.status_code,
            )
        result = body.get("result")
        return result if isinstance(result, dict) else {"result": result}

    async def send_message(self, chat_id: str | int, text: str, *, parse_mode: str | None = None) -> JSON:
        data: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if parse_mode:
            data["parse_mode"] = parse_mode
        return await self.call("sendMessage", data)

    async def send_audio(self, post: AudioPost) -> JSON:
        data: dict[str, Any] = {
            "chat_id": str(post.chat_id),
            "title": post.title,
            "performer": post.performer,
            "caption": post.caption,
            "parse_mode": "HTML",
        }
        if post.duration_s is not None:
            data["duration"] = str(post.duration_s)
        with post.audio.open("rb") as audio:
            files: dict[str, tuple[str, bytes | io.BufferedReader, str]] = {
                "audio": (post.audio.name, audio, "audio/mpeg")
            }
            if post.thumbnail is not None:
                files["thumbnail"] = ("cover.jpg", post.thumbnail, "image/jpeg")
            return await self.call("sendAudio", data, files)


def thumbnail_jpeg(cover: Path) -> bytes:
    """The cover as the Bot API wants a thumbnail: JPEG, at most 320 px a side and 200 kB."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(cover) as image:
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise ValidationFailed(f"cover: {cover} is not a readable image ({exc})", field="cover") from None
    picture.thumbnail((THUMB_MAX_PX, THUMB_MAX_PX))
    for quality in (87, 75, 60, 45, 30):
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=quality, optimize=True)
        if out.tell() <= THUMB_MAX_BYTES:
            return out.getvalue()
    return out.getvalue()


def audio_duration(path: Path) -> int | None:
    """Whole seconds of an MP3 (None when the file cannot tell)."""
    from mutagen import File as MutagenFile

    try:
        info = MutagenFile(path)
    except Exception:
        return None
    length = getattr(getattr(info, "info", None), "length", None)
    return round(length) if isinstance(length, int | float) and length > 0 else None


def chat_ids_of(payload: JSON, config: dict[str, Any]) -> list[str | int]:
    chats = payload.get("chat_ids", config.get("chat_ids"))
    if chats is None:
        raise ValidationFailed(
            "chat_ids is required (in the task or the telegram agent's config.chat_ids)", field="chat_ids"
        )
    if isinstance(chats, str | int) and not isinstance(chats, bool):
        chats = [chats]
    if not isinstance(chats, list) or not chats:
        raise ValidationFailed("chat_ids must be a non-empty list of chat ids or @channel names", field="chat_ids")
    for chat in chats:
        valid = (isinstance(chat, int) and not isinstance(chat, bool)) or (
            isinstance(chat, str) and ((chat.startswith("@") and len(chat) > 1) or chat.lstrip("-").isdigit())
        )
        if not valid:
            raise ValidationFailed(f"chat id {chat!r} must be a number or an @channel name", field="chat_ids")
    return list(chats)


def build_audio_post(payload: JSON, chat_id: str | int, settings: Settings | None = None) -> AudioPost:
    """Validate the episode part of a payload into one sendAudio post."""
    title = require_text(payload, "title", limit=300)
    performer = require_text(payload, "performer", limit=200, required=False) or "Aether"
    description = require_text(payload, "description", limit=20000, required=False)
    page_url = require_url(payload, "page_url", required=False)
    feed_url = require_url(payload, "feed_url", required=False)
    audio = local_media(require_text(payload, "audio", limit=2000), "audio", settings)
    duration = payload.get("duration_seconds")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0):
        raise ValidationFailed("duration_seconds must be a number of seconds >= 0", field="duration_seconds")
    seconds = round(duration) if duration is not None else audio_duration(audio)
    cover_ref = payload.get("cover")
    thumbnail = thumbnail_jpeg(local_media(cover_ref, "cover", settings)) if cover_ref else None
    return AudioPost(
        chat_id=chat_id,
        audio=audio,
        title=title,
        performer=performer,
        duration_s=seconds,
        caption=caption_html(title, description, page_url, feed_url),
        thumbnail=thumbnail,
    )


TokenSource = Callable[[], Awaitable[str | None]]


async def publish(
    ctx: TaskContext,
    payload: JSON,
    *,
    token: TokenSource | None = None,
    client: httpx.AsyncClient | None = None,
    policy: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> JSON:
    """Post the episode (or `text`) to every chat, each at most once; returns the message ids by chat."""
    config = await agent_config(ctx.db, AGENT)
    chats = chat_ids_of(payload, config)
    text = payload.get("text")
    if text is not None and (not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT):
        raise ValidationFailed(f"text must be 1 to {MAX_TEXT} characters", field="text")
    posts = {chat: build_audio_post(payload, chat, ctx.settings) for chat in chats} if text is None else {}
    scope = payload.get("episode_id") or payload.get("show_id") or ""
    bot_token = await (
        token() if token is not None else secret_for(ctx.db, ctx.settings, "telegram", "bot_token", agent=AGENT)
    )
    if not bot_token:
        await mark_agent_error(ctx.db, AGENT, "no bot token stored (credentials: platform telegram, key bot_token)")
        raise AgentDisabled("no Telegram bot token is stored (platform telegram, key bot_token)")
    owned = client is None
    http = client or httpx.AsyncClient(timeout=ctx.settings.publish_timeout_s)
    bot = TelegramBot(
        bot_token,
        http,
        base_url=ctx.settings.telegram_api_url,
        policy=policy or RetryPolicy.from_settings(ctx.settings),
        sleep=sleep,
    )
    sent: dict[str, Any] = {}
    try:
        for chat in chats:
            ctx.raise_if_cancelled()
            kind = "sendMessage" if text is not None else "sendAudio"
            key = f"telegram.{kind}:{scope}:{chat}"

            async def post(chat: str | int = chat, kind: str = kind) -> JSON:
                if text is not None:
                    result = await bot.send_message(chat, text)
                else:
                    result = await bot.send_audio(posts[chat])
                message_id = result.get("message_id")
                async with ctx.db.transaction() as conn:
                    await record_async(
                        conn, MESSAGES_SENT, 1, AGENT, chat_id=str(chat), kind=kind,
                        show_id=payload.get("show_id"), episode_id=payload.get("episode_id"),
                        message_id=message_id,
                    )  # fmt: skip
                return {"chat_id": str(chat), "message_id": message_id}

            try:
                outcome = await ctx.once(key, post)
            except PlatformAuthError as exc:
                reason = str(exc).replace(bot_token, "<token>")
                await mark_agent_error(ctx.db, AGENT, reason)
                raise AgentDisabled(f"Telegram rejected the bot token: {reason}") from None
            sent[str(chat)] = outcome["message_id"]
    finally:
        if owned:
            await http.aclose()
    return {"messages": sent}


@tasks.task("telegram.publish", agent=AGENT)
async def publish_handler(ctx: TaskContext, payload: JSON) -> JSON:
    try:
        return await publish(ctx, payload)
    except ValidationFailed as exc:
        raise PermanentError(f"{exc.field}: {exc.message}" if exc.field else exc.message) from exc
