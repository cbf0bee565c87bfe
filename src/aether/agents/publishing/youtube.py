"""YouTube agent: episode videos (and the vertical clip as a Short) through the YouTube Data API v3.

Uploads use `videos.insert` with the resumable protocol: a session is created (POST with the metadata and
`X-Upload-Content-Length`; the session URI comes back in `Location`), the file goes up in chunks
(`PUT` with `Content-Range: bytes a-b/N`; `308 Resume Incomplete` with `Range: bytes=0-k` acknowledges),
and after an interruption a status query (`Content-Range: bytes */N`) tells from which byte to resume.
The session URI is recorded through the idempotency guard before any byte is sent, so a retried task
resumes the same upload instead of creating a second video; the video id is recorded the same way, as is
`thumbnails.set` with the cover.

Metadata: title, description (summary, chapter timestamps, links to the episode page and the feed),
tags, category, privacy status, the made-for-kids flag and the language.

OAuth 2.0: the access token is a credential (platform `youtube`, key `access_token`, with `expires_at`)
refreshed ahead of expiry from the stored `refresh_token`, `client_id` and `client_secret` at the token
endpoint by the refresher registered here; the credentials store keeps the new token. Quota errors and
rejected tokens mark the agent `error` with the reason.

Task type `youtube.publish`, payload:
    {"video": path or URI, "short": path or URI (optional), "cover": path or URI (optional), "title",
     "description", "chapters": [{"start": seconds, "title"}], "tags": [...], "category_id": "28",
     "privacy_status": "public" | "unlisted" | "private", "made_for_kids": false, "language": "en",
     "page_url", "feed_url", "show_id", "episode_id"}
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from aether.agents.publishing.common import (
    RetryPolicy,
    Sleep,
    agent_config,
    local_media,
    mark_agent_error,
    require_text,
    require_url,
    secret_for,
    send_with_retries,
)
from aether.analytics.recording import VIDEOS_CREATED, record_async
from aether.errors import (
    AgentDisabled,
    CredentialExpired,
    PermanentError,
    PlatformAuthError,
    PlatformRejected,
    PlatformUnavailable,
    QuotaExceeded,
    SessionExpired,
    ValidationFailed,
)
from aether.queue.tasks import JSON, Blueprint, TaskContext
from aether.security.credentials import Refreshed, RefreshRequest, refresher, utc_now

log = logging.getLogger(__name__)

AGENT = "youtube"
PRIVACY = ("public", "unlisted", "private")
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded", "uploadLimitExceeded"})
TITLE_MAX = 100
DESCRIPTION_MAX_BYTES = 5000
TAGS_MAX_CHARS = 500
SHORTS_TAG = "#Shorts"


tasks = Blueprint()


# ---- metadata ---------------------------------------------------------------------------------------


def timestamp(seconds: float) -> str:
    """`m:ss` / `h:mm:ss`, as YouTube reads chapter timestamps."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _clean(text: str) -> str:
    # YouTube refuses `<` and `>` in titles and descriptions.
    return text.replace("<", "‹").replace(">", "›")


def chapter_lines(chapters: Any) -> list[str]:
    if chapters is None:
        return []
    if not isinstance(chapters, list):
        raise ValidationFailed("chapters must be a list of {start, title}", field="chapters")
    lines: list[str] = []
    previous = -1.0
    for index, chapter in enumerate(chapters):
        start = chapter.get("start") if isinstance(chapter, dict) else None
        title = chapter.get("title") if isinstance(chapter, dict) else None
        if isinstance(start, bool) or not isinstance(start, int | float) or start < 0 or start <= previous:
            raise ValidationFailed(
                f"chapters[{index}].start must be seconds >= 0, increasing", field=f"chapters[{index}].start"
            )
        if not isinstance(title, str) or not title.strip():
            raise ValidationFailed(f"chapters[{index}].title is required", field=f"chapters[{index}].title")
        if index == 0 and start > 0:
            lines.append(f"{timestamp(0)} Intro")  # YouTube needs the first chapter at 0:00
        lines.append(f"{timestamp(start)} {_clean(title.strip())}")
        previous = float(start)
    return lines


def _truncate_bytes(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore").rstrip() + "…"


def video_metadata(payload: JSON, config: dict[str, Any], *, short: bool = False) -> JSON:
    """The `snippet` and `status` of videos.insert from the task payload (and the agent's defaults)."""
    title = _clean(require_text(payload, "title", limit=500))
    summary = _clean(require_text(payload, "description", limit=20000, required=False))
    page_url = require_url(payload, "page_url", required=False)
    feed_url = require_url(payload, "feed_url", required=False)
    chapters = [] if short else chapter_lines(payload.get("chapters"))
    tags = payload.get("tags", config.get("tags", []))
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        raise ValidationFailed("tags must be a list of words", field="tags")
    if sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1) > TAGS_MAX_CHARS:
        raise ValidationFailed(f"tags must fit in {TAGS_MAX_CHARS} characters together", field="tags")
    category = str(payload.get("category_id", config.get("category_id", "28")))
    if not category.isdigit():
        raise ValidationFailed("category_id must be a YouTube category number, e.g. 28", field="category_id")
    privacy = payload.get("privacy_status", config.get("privacy_status", "private"))
    if privacy not in PRIVACY:
        raise ValidationFailed(f"privacy_status must be one of {', '.join(PRIVACY)}", field="privacy_status")
    for_kids = payload.get("made_for_kids", config.get("made_for_kids", False))
    if not isinstance(for_kids, bool):
        raise ValidationFailed("made_for_kids must be true or false", field="made_for_kids")
    language = payload.get("language", config.get("language", "en"))
    if not isinstance(language, str) or not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", language):
        raise ValidationFailed("language must be a BCP-47 tag such as en or pt-BR", field="language")

    if short:
        suffix = f" {SHORTS_TAG}"
        title = title[: TITLE_MAX - len(suffix)].rstrip() + suffix
    elif len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rstrip() + "…"
    links = [f"Episode: {page_url}" if page_url else "", f"Podcast feed: {feed_url}" if feed_url else ""]
    blocks = [
        summary,
        "Chapters:\n" + "\n".join(chapters) if chapters else "",
        "\n".join(link for link in links if link),
        SHORTS_TAG if short else "",
    ]
    tail = "\n\n".join(b for b in blocks[1:] if b)
    room = DESCRIPTION_MAX_BYTES - len(tail.encode()) - 2
    description = "\n\n".join(b for b in [_truncate_bytes(summary, max(0, room)), tail] if b)
    return {
        "snippet": {
            "title": title,
            "description": description,
            "tags": tags,
            "categoryId": category,
            "defaultLanguage": language,
            "defaultAudioLanguage": language,
        },
        "status": {"privacyStatus": privacy, "selfDeclaredMadeForKids": for_kids, "embeddable": True},
    }


# ---- the API client --------------------------------------------------------------------------------


def _error_reason(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        reasons = [e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)]
        return (reasons[0] if reasons else str(error.get("status", ""))), str(error.get("message", ""))
    return "", str(error or "")


def check_response(response: httpx.Response, what: str) -> None:
    """Raise the right error for a failed API answer (2xx and 308 pass)."""
    status = response.status_code
    if status < 300 or status == 308:
        return
    reason, message = _error_reason(response)
    detail = f"{what}: HTTP {status} {reason} {message}".strip()
    if reason in QUOTA_REASONS:
        raise QuotaExceeded(detail)
    if status in (401, 403):
        raise PlatformAuthError(detail)
    if status in (404, 410):
        raise SessionExpired(detail)
    raise PlatformRejected(detail, status=status, reason=reason)


def acknowledged(response: httpx.Response) -> int:
    """Bytes the server holds after a 308: `Range: bytes=0-k` means k+1; no Range header means none."""
    header = response.headers.get("range")
    if not header:
        return 0
    match = re.fullmatch(r"bytes=0-(\d+)", header.strip())
    if not match:
        raise PlatformRejected(f"YouTube upload: unexpected Range header {header!r}")
    return int(match.group(1)) + 1


@dataclass
class UploadProgress:
    requests: int = 0
    resumed_from: list[int] | None = None


class YouTubeClient:
    def __init__(
        self,
        access_token: str,
        client: httpx.AsyncClient,
        *,
        api_url: str,
        upload_url: str,
        chunk_bytes: int = 8 * 1024 * 1024,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._auth = {"Authorization": f"Bearer {access_token}"}
        self._client = client
        self.api_url = api_url.rstrip("/")
        self.upload_url = upload_url.rstrip("/")
        self.chunk_bytes = chunk_bytes
        self.policy = policy or RetryPolicy()
        self._sleep = sleep

    async def _send(
        self, what: str, method: str, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        all_headers = {**self._auth, **(headers or {})}

        async def send() -> httpx.Response:
            return await self._client.request(method, url, headers=all_headers, **kwargs)

        response = await send_with_retries(send, policy=self.policy, what=what, sleep=self._sleep)
        check_response(response, what)
        return response

    async def create_session(self, metadata: JSON, size: int, content_type: str = "video/mp4") -> str:
        """videos.insert, resumable: returns the upload session URI."""
        response = await self._send(
            "YouTube videos.insert (session)",
            "POST",
            f"{self.upload_url}/videos",
            params={"uploadType": "resumable", "part": "snippet,status"},
            json=metadata,
            headers={"X-Upload-Content-Length": str(size), "X-Upload-Content-Type": content_type},
        )
        location: str | None = response.headers.get("location")
        if not location:
            raise PlatformRejected("YouTube videos.insert answered without a Location (session URI)")
        return location

    async def query_status(self, session_uri: str, size: int) -> int | JSON:
        """Bytes the server acknowledged, or the video resource when the upload is complete."""
        response = await self._send(
            "YouTube upload status",
            "PUT",
            session_uri,
            headers={"Content-Range": f"bytes */{size}", "Content-Length": "0"},
        )
        if response.status_code == 308:
            return acknowledged(response)
        return dict(response.json())

    async def upload(self, session_uri: str, path: Path, *, progress: UploadProgress | None = None) -> JSON:
        """Send the file from the byte the server acknowledged on; returns the video resource."""
        size = path.stat().st_size
        progress = progress or UploadProgress()
        progress.resumed_from = progress.resumed_from or []
        state = await self.query_status(session_uri, size)
        failures = 0
        with path.open("rb") as handle:
            while True:
                if isinstance(state, dict):
                    return state
                offset = state
                progress.resumed_from.append(offset)
                handle.seek(offset)
                chunk = handle.read(self.chunk_bytes)
                end = offset + len(chunk) - 1
                progress.requests += 1
                try:
                    response = await self._client.put(
                        session_uri,
                        content=chunk,
                        headers={**self._auth, "Content-Range": f"bytes {offset}-{end}/{size}"},
                    )
                except httpx.TransportError as exc:
                    response = None
                    problem = f"{type(exc).__name__}: {exc}"
                if response is not None and response.status_code < 500:
                    check_response(response, "YouTube upload")
                    state = acknowledged(response) if response.status_code == 308 else dict(response.json())
                    failures = 0
                    continue
                problem = f"HTTP {response.status_code}" if response is not None else problem
                if failures >= self.policy.max_retries:
                    raise PlatformUnavailable(f"YouTube upload interrupted at byte {offset} of {size}: {problem}")
                delay = self.policy.backoff(failures)
                failures += 1
                log.warning("YouTube upload interrupted (%s); asking the server where to resume", problem)
                await self._sleep(delay)
                state = await self.query_status(session_uri, size)

    async def set_thumbnail(self, video_id: str, image: Path) -> JSON:
        content_type = "image/png" if image.suffix.lower() == ".png" else "image/jpeg"
        response = await self._send(
            "YouTube thumbnails.set",
            "POST",
            f"{self.upload_url}/thumbnails/set",
            params={"videoId": video_id, "uploadType": "media"},
            content=image.read_bytes(),
            headers={"Content-Type": content_type},
        )
        return dict(response.json())


# ---- OAuth 2.0 refresh -----------------------------------------------------------------------------


@refresher("youtube", "access_token")
async def refresh_access_token(request: RefreshRequest) -> Refreshed:
    """Exchange the stored refresh token for a new access token at the Google token endpoint."""
    missing = [k for k in ("refresh_token", "client_id", "client_secret") if not request.secrets.get(k)]
    if missing:
        raise CredentialExpired(
            f"cannot refresh the YouTube access token: no {', '.join(missing)} stored (platform youtube)",
            field="key",
        )
    async with httpx.AsyncClient(timeout=request.settings.publish_timeout_s) as client:

        async def send() -> httpx.Response:
            return await client.post(
                request.settings.google_token_url,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": request.secrets["refresh_token"],
                    "client_id": request.secrets["client_id"],
                    "client_secret": request.secrets["client_secret"],
                },
            )

        response = await send_with_retries(
            send, policy=RetryPolicy.from_settings(request.settings), what="Google OAuth token refresh"
        )
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        error = body.get("error", "") if isinstance(body, dict) else ""
        raise CredentialExpired(
            f"the token endpoint refused the refresh: HTTP {response.status_code} {error}".strip(), field="key"
        )
    expires_in = body.get("expires_in", 3600)
    extra = {"refresh_token": body["refresh_token"]} if body.get("refresh_token") else {}
    return Refreshed(
        value=str(body["access_token"]),
        expires_at=utc_now() + timedelta(seconds=float(expires_in)),
        extra=extra,
    )


# ---- publishing --------------------------------------------------------------------------------------


async def _access_token(ctx: TaskContext) -> str:
    try:
        token = await secret_for(ctx.db, ctx.settings, "youtube", "access_token", agent=AGENT)
    except CredentialExpired as exc:
        await mark_agent_error(ctx.db, AGENT, exc.message)
        raise AgentDisabled(exc.message) from None
    if not token:
        reason = "no access token stored (credentials: platform youtube, key access_token)"
        await mark_agent_error(ctx.db, AGENT, reason)
        raise AgentDisabled(f"YouTube: {reason}")
    return token


async def upload_video(
    ctx: TaskContext, api: YouTubeClient, path: Path, metadata: JSON, *, key: str, dimensions: dict[str, Any]
) -> JSON:
    """Upload one video exactly once: the session is recorded before the first byte, the id after."""
    size = path.stat().st_size
    if size == 0:
        raise ValidationFailed(f"{path} is empty", field="video")

    async def whole_upload() -> JSON:
        session = await ctx.once(f"{key}:session", _new_session)
        try:
            video = await api.upload(session["session_uri"], path)
        except SessionExpired:
            log.warning("the YouTube upload session of %s expired; starting a new one", key)
            video = await api.upload(await api.create_session(metadata, size), path)
        video_id = video.get("id")
        if not isinstance(video_id, str) or not video_id:
            raise PlatformRejected(f"YouTube answered the upload without a video id: {str(video)[:200]}")
        async with ctx.db.transaction() as conn:
            await record_async(conn, VIDEOS_CREATED, 1, AGENT, video_id=video_id, **dimensions)
        return {"video_id": video_id}

    async def _new_session() -> JSON:
        return {"session_uri": await api.create_session(metadata, size)}

    return await ctx.once(f"{key}:video", whole_upload)


async def publish(
    ctx: TaskContext,
    payload: JSON,
    *,
    client: httpx.AsyncClient | None = None,
    policy: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> JSON:
    """Upload the episode video (with its thumbnail) and the Short; returns their ids."""
    config = await agent_config(ctx.db, AGENT)
    video = local_media(require_text(payload, "video", limit=2000), "video", ctx.settings)
    metadata = video_metadata(payload, config)
    short_ref = payload.get("short")
    short = local_media(short_ref, "short", ctx.settings) if short_ref else None
    short_metadata = video_metadata(payload, config, short=True) if short else None
    cover_ref = payload.get("cover")
    cover = local_media(cover_ref, "cover", ctx.settings) if cover_ref else None
    scope = payload.get("episode_id") or payload.get("show_id") or ""
    dimensions = {"show_id": payload.get("show_id"), "episode_id": payload.get("episode_id")}

    token = await _access_token(ctx)
    owned = client is None
    http = client or httpx.AsyncClient(timeout=ctx.settings.publish_timeout_s)
    api = YouTubeClient(
        token,
        http,
        api_url=ctx.settings.youtube_api_url,
        upload_url=ctx.settings.youtube_upload_url,
        chunk_bytes=ctx.settings.youtube_chunk_bytes,
        policy=policy or RetryPolicy.from_settings(ctx.settings),
        sleep=sleep,
    )
    result: JSON = {}
    try:
        uploaded = await upload_video(
            ctx, api, video, metadata, key=f"youtube.video:{scope}", dimensions={**dimensions, "kind": "episode"}
        )
        result["video_id"] = uploaded["video_id"]
        if cover is not None:

            async def thumbnail() -> JSON:
                answer = await api.set_thumbnail(uploaded["video_id"], cover)
                items = answer.get("items") or [{}]
                return {"thumbnail_url": ((items[0] or {}).get("default") or {}).get("url")}

            result.update(await ctx.once(f"youtube.thumbnail:{scope}", thumbnail))
        if short is not None and short_metadata is not None:
            ctx.raise_if_cancelled()
            shorts = await upload_video(
                ctx,
                api,
                short,
                short_metadata,
                key=f"youtube.short:{scope}",
                dimensions={**dimensions, "kind": "short"},
            )
            result["short_video_id"] = shorts["video_id"]
    except (QuotaExceeded, PlatformAuthError) as exc:
        reason = str(exc)
        await mark_agent_error(ctx.db, AGENT, reason)
        raise AgentDisabled(f"YouTube: {reason}") from None
    finally:
        if owned:
            await http.aclose()
    result["url"] = f"https://www.youtube.com/watch?v={result['video_id']}"
    if "short_video_id" in result:
        result["short_url"] = f"https://www.youtube.com/shorts/{result['short_video_id']}"
    return result


@tasks.task("youtube.publish", agent=AGENT, timeout_s=6 * 3600)
async def publish_handler(ctx: TaskContext, payload: JSON) -> JSON:
    try:
        return await publish(ctx, payload)
    except ValidationFailed as exc:
        raise PermanentError(f"{exc.field}: {exc.message}" if exc.field else exc.message) from exc
