"""Stand-ins for the media steps of `podcast_episode` (discover ... video), so that workflow tests reach
the publishing steps in a second instead of rendering a real episode. Each writes real, small media into
the object store and records assets, returning its output in the shape of the real step (see the agents'
docstrings); they are HandlerSpecs handed to a test worker, never registered globally."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from aether import storage
from aether.queue.tasks import HandlerSpec, TaskContext
from tests.standins.context import write_cover, write_mp3

AUDIO_SECONDS = 2.0


async def _store(ctx: TaskContext, path: Path, asset_type: str, **meta: Any) -> dict[str, Any]:
    store = storage.ObjectStore.from_settings(ctx.settings)
    obj = store.put_file(path)
    async with ctx.db.transaction() as conn:
        asset = await storage.record_asset(conn, path.name, asset_type, obj, {"workflow_id": ctx.workflow_id, **meta})
    return {"id": asset.id, "uri": asset.uri}


async def discover(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    story = {
        "url": "https://news.example.org/solar-sails",
        "title": "Solar sails reach orbit",
        "publication": "Orbit News",
    }
    return {
        "topics": [
            {
                "id": "00000000-0000-0000-0000-000000000001",
                "title": "Stand-in topic",
                "relevance": 0.5,
                "sources": [story],
            }
        ]
    }


async def snippets(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    ids = payload.get("topic_ids") or [t["id"] for t in payload.get("topics", [])]
    return {"snippets": [{"topic_id": i, "headline": f"Snippet of {i}"} for i in ids]}


async def script(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    """A small valid script (aether.agents.pswa.script.Script): an intro, a topic per snippet, an outro."""
    hosts = [h if isinstance(h, str) else h["name"] for h in payload.get("hosts") or ["Alex", "Sam"]]
    other = hosts[-1]

    def segment(kind: str, title: str, *texts: str) -> dict[str, Any]:
        lines = [{"speaker": hosts[i % 2] if len(hosts) > 1 else hosts[0], "text": t} for i, t in enumerate(texts)]
        return {"kind": kind, "title": title, "lines": lines}

    topics = [
        segment("topic", s["headline"], f"Our story: {s['headline']}.", f"Thanks, {hosts[0]}.")
        for s in payload.get("snippets") or []
    ]
    segments = [
        segment("intro", "Welcome", f"Welcome to {payload.get('show_title') or 'the show'}.", f"Hello, I'm {other}."),
        *topics,
        segment("outro", "Goodbye", "That's all for today.", "Goodbye."),
    ]
    words = sum(len(line["text"].split()) for seg in segments for line in seg["lines"])
    return {
        "script": {
            "show_title": payload.get("show_title") or "The Test Show",
            "episode_title": "Stand-in episode",
            "description": "A stand-in script.",
            "language": payload.get("language") or "en",
            "hosts": [{"name": h} for h in hosts],
            "target_minutes": 1.0,
            "target_words": 150,
            "word_count": words,
            "segments": segments,
            "writer": "stand-in",
            "prompt_version": "stand-in-1",
        }
    }


async def cover(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        stored = await _store(ctx, write_cover(Path(folder) / "cover.png", size=600), "image")
    return {"cover_asset_id": stored["id"], "cover_uri": stored["uri"]}


async def music(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {"music": False}


async def voice(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    chapters = {"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Hello"}, {"startTime": 1, "title": "News"}]}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        audio = await _store(ctx, write_mp3(base / "episode.mp3", seconds=AUDIO_SECONDS), "audio")
        (base / "episode.vtt").write_text("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v Alex>Hello.\n")
        transcript = await _store(ctx, base / "episode.vtt", "transcript")
        (base / "chapters.json").write_text(json.dumps(chapters))
        chapter_doc = await _store(ctx, base / "chapters.json", "chapters")
    return {
        "audio_asset_id": audio["id"],
        "audio_uri": audio["uri"],
        "transcript_asset_id": transcript["id"],
        "transcript_uri": transcript["uri"],
        "chapters_asset_id": chapter_doc["id"],
        "chapters_uri": chapter_doc["uri"],
        "duration_s": AUDIO_SECONDS,
        "title": "Stand-in episode",
    }


def tiny_mp4(path: Path, size: str) -> Path:
    """A real one-second H.264 video (ffmpeg from the imageio-ffmpeg wheel)."""
    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "lavfi", "-i", f"color=c=blue:s={size}:d=1:r=5",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


async def video(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    if payload.get("enabled") is False:
        return {"skipped": True, "reason": "video disabled for this episode (enabled: false)"}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        main = await _store(ctx, tiny_mp4(base / "episode.mp4", "96x64"), "video")
        clip = await _store(ctx, tiny_mp4(base / "clip.mp4", "64x96"), "video")
    return {
        "video_asset_id": main["id"],
        "video_uri": main["uri"],
        "clip_asset_id": clip["id"],
        "clip_uri": clip["uri"],
    }


def handlers() -> dict[str, HandlerSpec]:
    specs = {
        "tda.gather": ("tda", discover),
        "sca.snippets": ("sca", snippets),
        "pswa.write_script": ("pswa", script),
        "iga.cover": ("iga", cover),
        "music.bed": ("music", music),
        "vfa.synthesize": ("vfa", voice),
        "video.render": ("video", video),
    }
    return {task_type: HandlerSpec(task_type, agent, fn) for task_type, (agent, fn) in specs.items()}
