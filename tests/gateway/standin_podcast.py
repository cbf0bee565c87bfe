"""A stand-in `podcast_episode` workflow for gateway tests when the real one is not installed: two
steps whose handlers store a real MP3 (a LAME-encoded tone), a WebVTT transcript and chapters through
aether.storage, returning their asset ids the way the real workflow's steps do.

Used by `aether worker --handlers tests.gateway.standin_podcast` and imported by the test process."""

from __future__ import annotations

import json
from typing import Any

from aether.errors import NotFound
from aether.orchestrator import Step, WorkflowDefinition, get_workflow, register_workflow
from aether.queue.registry import TaskContext, task_handler

VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nAlex: Hello and welcome.\n\n00:00:01.000 --> 00:00:02.000\nSam: Bye!\n"


@task_handler("standin.script", agent="standin")
async def script(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {"text": f"A short show about {payload.get('topic')}"}


@task_handler("standin.audio", agent="standin")
async def audio(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    from aether import storage
    from tests.gateway.conftest import make_mp3

    out: dict[str, Any] = {"duration_seconds": 2.0}
    store = storage.ObjectStore.from_settings(ctx.settings)
    files = {
        "audio": ("episode.mp3", make_mp3(2.0), "audio", ".mp3"),
        "transcript": ("episode.vtt", VTT.encode(), "transcript", ".vtt"),
        "chapters": (
            "chapters.json",
            json.dumps({"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Hello"}]}).encode(),
            "chapters",
            ".json",
        ),
    }
    async with ctx.db.transaction() as conn:
        for kind, (name, data, asset_type, suffix) in files.items():
            obj = store.put_bytes(data, suffix=suffix)
            asset = await storage.record_asset_async(
                conn, name, asset_type, obj, {"workflow_id": ctx.workflow_id, "duration_s": 2.0}
            )
            out[f"{kind}_asset_id"] = asset.id
    return out


def ensure_registered() -> None:
    try:
        get_workflow("podcast_episode")
    except NotFound:
        register_workflow(
            WorkflowDefinition(
                "podcast_episode",
                1,
                steps=[
                    Step("script", "standin.script", "standin", inputs={"topic": "$params.topic"}),
                    Step("audio", "standin.audio", "standin", after=["script"], inputs={"x": "$steps.script.text"}),
                ],
            )
        )


ensure_registered()
