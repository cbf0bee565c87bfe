"""Video agent (the seeds' `create_video` task for YouTube): the episode as a 1920x1080 MP4 and a
1080x1920 clip of at most 60 s from its strongest segment (aether.media.video).

Task `video.render` (agent "video"):

    payload  {"audio_uri": str, "cover_uri": str, "transcript_uri": str, "title": str,
              "show_title": str?, "author": str?, "chapters_uri": str?, "enabled": bool?}   # enabled false: skipped
    result   {"video_asset_id", "video_uri", "clip_asset_id", "clip_uri", "duration_s", "clip_start_s",
              "clip_end_s", "cached", "assets": {"video": {id, uri, type}, "clip": {...}}}

The show's name is drawn above the title on both videos and tagged as the MP4's album (the author as its
artist); without `show_title` it is the `podcastName` of the chapters (the voice step names the show there),
so a video never goes out without its show's name.

The whole step is `await render_video(settings, db, plan(settings, payload))`, as the task handler runs it
(which also skips a payload with `enabled: false`, and fails bad input at once).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from asyncio import to_thread
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from aether.config import Settings
from aether.db import Database
from aether.errors import ValidationFailed
from aether.media import chapters as chapter_doc
from aether.media.ffmpeg import decoded_duration, probe
from aether.media.transcript import Cue, parse_webvtt
from aether.media.video import (
    LANDSCAPE,
    VERTICAL,
    VideoSpec,
    compose_still,
    ffmpeg_args,
    start_ffmpeg,
    strongest_window,
    wait_ffmpeg,
    write_captions,
)
from aether.queue import scratch
from aether.queue.tasks import Blueprint, TaskContext, bad_input_is_permanent
from aether.storage import Asset, ObjectStore, PendingAsset, RunCpu, render_once

ENGINE_VERSION = "video-2"  # 2: the MP4s carry title, album (show) and artist tags
ROLES = ("video", "clip")


tasks = Blueprint()


@dataclass(frozen=True)
class VideoJob:
    audio_uri: str
    cover_uri: str
    transcript_uri: str
    chapters_uri: str | None
    title: str
    show_title: str | None
    author: str | None
    spec: VideoSpec
    clip_max_s: float
    render_key: str


def _uri(payload: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or "/" not in value:
        raise ValidationFailed(f"{key} must be the URI of a stored object", field=key)
    return value


def plan(settings: Settings, payload: Mapping[str, Any]) -> VideoJob:
    if not isinstance(payload, Mapping):
        raise ValidationFailed("the payload must be a JSON object", field="payload")
    title = payload.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 300:
        raise ValidationFailed("title must be a string of 1 to 300 characters", field="title")
    show_title, author = _name(payload, "show_title"), _name(payload, "author")
    spec = VideoSpec(fps=settings.video_fps, preset=settings.video_preset, crf=settings.video_crf)
    audio, cover = str(_uri(payload, "audio_uri")), str(_uri(payload, "cover_uri"))
    transcript, chapters = str(_uri(payload, "transcript_uri")), _uri(payload, "chapters_uri", required=False)
    clean_title = " ".join(title.split())
    parts = {
        "engine": ENGINE_VERSION,
        "inputs": [audio, cover, transcript, chapters, clean_title, show_title, *([author] if author else [])],
        "spec": [spec.fps, spec.preset, spec.crf, spec.audio_bitrate_kbps, settings.video_clip_max_s],
        "font": str(settings.media_font) if settings.media_font else None,
    }
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return VideoJob(
        audio, cover, transcript, chapters, clean_title, show_title, author, spec, settings.video_clip_max_s, key
    )


def _name(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > 200):
        raise ValidationFailed(f"{key} must be a string of at most 200 characters", field=key)
    return (" ".join(value.split()) or None) if value else None


def _segments(cues: list[Cue], chapters_text: str | None) -> tuple[list[Cue], list[str] | None]:
    """Cues with their segment (from the chapter boundaries) and each segment's kind."""
    if not chapters_text:
        return cues, None
    chapters = chapter_doc.from_json(chapters_text)
    if not chapters:
        return cues, None
    starts = [c.start for c in chapters]
    out = []
    for cue in cues:
        index = max((i for i, s in enumerate(starts) if s <= cue.start + 1e-6), default=0)
        out.append(Cue(cue.start, cue.end, cue.text, cue.speaker, index))
    kinds = ["topic"] * len(chapters)
    if len(chapters) >= 3:
        kinds[0], kinds[-1] = "intro", "outro"
    return out, kinds


def render_and_store(settings: Settings, job: VideoJob, *, owner: str | None = None) -> list[PendingAsset]:
    """Render both videos (the two ffmpeg runs share the cores) and store them (CPU-bound); the scratch
    folder is named after `owner`, the task attempt rendering (aether.queue.scratch)."""
    store = ObjectStore.from_settings(settings)
    workdir = scratch.make_dir(settings, "video", owner)
    try:
        audio = store.download(job.audio_uri, workdir / "audio.mp3")
        with Image.open(io.BytesIO(store.get_bytes(job.cover_uri))) as raw:
            cover = raw.convert("RGB")
        cues = parse_webvtt(store.get_bytes(job.transcript_uri).decode("utf-8"))
        chapters_text = store.get_bytes(job.chapters_uri).decode("utf-8") if job.chapters_uri else None
        cues, kinds = _segments(cues, chapters_text)
        show = job.show_title or (chapter_doc.podcast_name(chapters_text) if chapters_text else None)
        tags = {"title": job.title, "album": show or "", "artist": job.author or ""}
        duration = decoded_duration(audio)
        window = strongest_window(cues, kinds, job.clip_max_s)
        font_path = settings.media_font

        # the short clip's frames are composed first and its ffmpeg started, so it renders on one core
        # while this one composes the landscape frames (captions for the whole episode take a while)
        video, clip = workdir / "episode.mp4", workdir / "clip.mp4"
        runs: list[tuple[subprocess.Popen[bytes], Path, str]] = []
        try:
            vertical_still = workdir / "vertical.png"
            compose_still(cover, VERTICAL, job.title, show, font_path).save(vertical_still, compress_level=1)
            clip_captions = write_captions(
                cues, VERTICAL, workdir / "captions-v", duration=window.duration, offset=window.start,
                font_path=font_path,
            )  # fmt: skip
            clip_args = ffmpeg_args(
                vertical_still, audio, clip_captions, clip, VERTICAL, job.spec,
                duration=window.duration, audio_start=window.start, fade=True, metadata=tags,
            )  # fmt: skip
            runs.append((*start_ffmpeg(clip_args, workdir / "vertical.log"), "vertical clip"))
            landscape_still = workdir / "landscape.png"
            compose_still(cover, LANDSCAPE, job.title, show, font_path).save(landscape_still, compress_level=1)
            captions = write_captions(cues, LANDSCAPE, workdir / "captions-l", duration=duration, font_path=font_path)
            landscape_args = ffmpeg_args(
                landscape_still, audio, captions, video, LANDSCAPE, job.spec, duration=duration, metadata=tags
            )
            runs.append((*start_ffmpeg(landscape_args, workdir / "landscape.log"), "landscape video"))
            for proc, log, what in runs:
                wait_ffmpeg(proc, log, what)
        finally:  # one failed (or this task was cancelled): the other ffmpeg stops too
            for proc, _, _ in runs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        common = {"agent": "video", "provider": "ffmpeg", "model": "libx264+aac", "render_key": job.render_key,
                  "fps": job.spec.fps, "title": job.title, "codecs": ["h264", "aac"]}  # fmt: skip
        pending = []
        for role, path, layout, name in (
            ("video", video, LANDSCAPE, f"{job.title} (video)"),
            ("clip", clip, VERTICAL, f"{job.title} (vertical clip)"),
        ):
            info = probe(path)
            meta = common | {
                "width": layout.width,
                "height": layout.height,
                "duration_s": round(info.duration_s or 0.0, 3),
            }
            if role == "clip":
                meta |= {"clip_start_s": window.start, "clip_end_s": window.end}
            obj = store.put_file(path, mime_type="video/mp4")
            pending.append(PendingAsset(role, name[:255], "video", obj, meta))
        return pending
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def result_of(assets: Mapping[str, Asset], *, cached: bool) -> dict[str, Any]:
    video, clip = assets["video"], assets["clip"]
    return {
        "video_asset_id": video.id,
        "video_uri": video.uri,
        "clip_asset_id": clip.id,
        "clip_uri": clip.uri,
        "duration_s": video.metadata.get("duration_s"),
        "clip_duration_s": clip.metadata.get("duration_s"),
        "clip_start_s": clip.metadata.get("clip_start_s"),
        "clip_end_s": clip.metadata.get("clip_end_s"),
        "cached": cached,
        "assets": {role: {"id": a.id, "uri": a.uri, "type": a.type} for role, a in assets.items() if role in ROLES},
    }


SKIPPED: dict[str, Any] = {"skipped": True, "reason": "video disabled for this episode (enabled: false)"}


async def render_video(
    settings: Settings,
    db: Database,
    job: VideoJob,
    *,
    workflow_id: str | None = None,
    run_cpu: RunCpu = to_thread,
    owner: str | None = None,
) -> dict[str, Any]:
    """The video step (the task handler, tests, benchmarks): both videos of this render key, rendered once."""
    render = partial(render_and_store, settings, job, owner=owner)
    assets, cached = await render_once(db, job.render_key, ROLES, render, run_cpu=run_cpu, workflow_id=workflow_id)
    return result_of(assets, cached=cached)


@tasks.task("video.render", agent="video")
async def handle_render(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    if isinstance(payload, Mapping) and payload.get("enabled") is False:
        return dict(SKIPPED)
    with bad_input_is_permanent():
        job = plan(ctx.settings, payload)
    return await render_video(
        ctx.settings, ctx.db, job, workflow_id=ctx.workflow_id, run_cpu=ctx.run_cpu, owner=scratch.owner(ctx)
    )
