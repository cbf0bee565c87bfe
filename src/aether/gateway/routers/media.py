"""Media delivery (public, like a podcast host): audio and video with Range/ETag, cover, transcript,
chapters; every audio or video download is counted once per client and day."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from aether.analytics.recording import EPISODE_DOWNLOADS, record_async
from aether.config import Settings
from aether.db import Database
from aether.errors import NotFound
from aether.gateway import delivery, objects
from aether.gateway.deps import DB, AppSettings, client_ip
from aether.podcasts import episodes, media_info

router = APIRouter(tags=["media"])
log = logging.getLogger(__name__)

_NAME = re.compile(r"^(audio|video|cover|transcript|chapters)(\.[a-z0-9]{2,5})?$")
_COLUMNS = {
    "audio": "audio_asset_id",
    "video": "video_asset_id",
    "cover": "cover_asset_id",
    "transcript": "transcript_asset_id",
    "chapters": "chapters_asset_id",
}
_DEFAULT_TYPES = {
    "audio": "audio/mpeg",
    "video": "video/mp4",
    "cover": "image/png",
    "transcript": "text/vtt",
    "chapters": "application/json+chapters",
}


def _kind(name: str) -> str:
    match = _NAME.match(name)
    if match is None:
        raise NotFound(f"no media {name!r}; one of audio, video, cover, transcript, chapters", field="name")
    return match.group(1)


@router.head("/media/episodes/{episode_id}/{name}", include_in_schema=False)
@router.get("/media/episodes/{episode_id}/{name}", summary="An episode's media, its current version (Range, ETag)")
async def episode_media(episode_id: str, name: str, request: Request, db: DB, settings: AppSettings) -> Response:
    kind = _kind(name)
    async with db.connection() as conn:
        episode = await episodes.public_episode(conn, episode_id)
        asset_id = episode.get(_COLUMNS[kind])
        if not asset_id:
            raise NotFound(f"episode {episode_id} has no {kind}", field="name")
        cur = await conn.execute(episodes.Q.asset_by_id, {"id": asset_id})
        asset = await cur.fetchone()
    return await _serve(episode, kind, asset, request, db, settings)


@router.head("/media/episodes/{episode_id}/v{version}/{name}", include_in_schema=False)
@router.get(
    "/media/episodes/{episode_id}/v{version}/{name}",
    summary="An episode's media as one audio version made them (the feed's URLs; Range, ETag)",
)
async def episode_version_media(
    episode_id: str, version: int, name: str, request: Request, db: DB, settings: AppSettings
) -> Response:
    kind = _kind(name)
    async with db.connection() as conn:
        episode = await episodes.public_episode(conn, episode_id)
        cur = await conn.execute(episodes.Q.render_asset, {"episode_id": episode["id"], "version": version})
        render = await cur.fetchone()
        asset_id = episode.get(_COLUMNS[kind]) if kind == "cover" else (render or {}).get(_COLUMNS[kind])
        if not asset_id:
            raise NotFound(f"episode {episode_id} has no {kind} in version {version}", field="name")
        cur = await conn.execute(episodes.Q.asset_by_id, {"id": asset_id})
        asset = await cur.fetchone()
    return await _serve(episode, kind, asset, request, db, settings)


async def _serve(
    episode: dict[str, Any], kind: str, asset: Any, request: Request, db: Database, settings: Settings
) -> Response:
    episode_id = str(episode["id"])
    if asset is None or not asset["path"]:
        raise NotFound(f"episode {episode_id} has no {kind}", field="name")
    info = media_info.describe(asset["metadata"], asset["path"], default_type=_DEFAULT_TYPES[kind])
    size = info.size if info.size is not None else await objects.size_of(asset["path"], settings)
    if info.size is not None and objects.local_path(asset["path"], settings) is not None:
        size = await objects.size_of(asset["path"], settings)  # the file itself is the truth
    tag = info.sha256 or f"{asset['id']}-{size}-{int(asset['updated_at'].timestamp()) if asset['updated_at'] else 0}"
    etag = f'"{hashlib.sha256(str(tag).encode()).hexdigest()[:32]}"'
    content_type = info.content_type
    if kind == "chapters":
        content_type = "application/json+chapters"
    elif kind == "transcript" and content_type == "application/octet-stream":
        content_type = "text/vtt"

    async def count(byte_range: delivery.ByteRange) -> None:
        if kind in ("audio", "video") and byte_range.length >= 2:
            await record_download(db, settings, episode, kind, request)

    return await delivery.respond(
        request,
        size=size,
        etag=etag,
        content_type=content_type,
        reader=objects.reader(asset["path"], settings),
        before_body=count,
    )


async def record_download(
    db: Database, settings: Settings, episode: dict[str, Any], media: str, request: Request
) -> bool:
    """Count a download once per episode, media, client (address + user agent) and UTC day."""
    client = f"{client_ip(request) or ''}\n{request.headers.get('user-agent', '')}"
    client_hash = hashlib.sha256(client.encode("utf-8")).hexdigest()
    try:
        async with db.transaction() as conn:
            cur = await conn.execute(
                episodes.Q.record_download_day,
                {"episode_id": episode["id"], "client_hash": client_hash, "media": media},
            )
            first = await cur.fetchone()
            if first is None:
                return False

            await record_async(
                conn,
                EPISODE_DOWNLOADS,
                1,
                "gateway",
                episode_id=str(episode["id"]),
                show_id=episode["show_id"],
                media=media,
                day=first["day"].isoformat(),
                client=client_hash[:16],
            )
            return True
    except Exception:  # counting must never break a download
        log.exception("could not record a download of episode %s", episode["id"])
        return False
