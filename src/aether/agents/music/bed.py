"""Music agent: an original music bed and intro/outro stings for a show or topic, generated offline
(aether.media.music) and stored as assets of their own.

Task `music.bed` (agent "music"):

    payload  {"seed": str?, "show_title": str?, "title": str?}   # seed defaults to "show_title|title"
    result   {"music": {"bed_uri", "intro_uri", "outro_uri", "seed", "key", "bpm"},
              "music_asset_id", "bed_uri", "intro_uri", "outro_uri", "assets": {role: {id, uri, type}}}

The same seed always gives the same bytes, so a second run stores nothing new. The whole step is
`await make_music(settings, db, music_seed(payload))`, as the task handler runs it (bad input fails at once).
"""

from __future__ import annotations

from asyncio import to_thread
from collections.abc import Mapping
from functools import partial
from typing import Any

from aether.config import Settings
from aether.db import Database
from aether.errors import ValidationFailed
from aether.media.audio import SAMPLE_RATE, seconds, wav_bytes
from aether.media.music import render_music, spec_for
from aether.queue.tasks import Blueprint, TaskContext, bad_input_is_permanent
from aether.storage import Asset, ObjectStore, PendingAsset, RunCpu, render_once

ROLES = ("music_bed", "music_intro", "music_outro")


tasks = Blueprint()


def music_seed(payload: Mapping[str, Any]) -> str:
    if not isinstance(payload, Mapping):
        raise ValidationFailed("the payload must be a JSON object", field="payload")
    seed = payload.get("seed")
    if seed is not None:
        if not isinstance(seed, str) or not seed.strip() or len(seed) > 500:
            raise ValidationFailed("seed must be a string of 1 to 500 characters", field="seed")
        return seed.strip()
    parts = []
    for field in ("show_title", "title"):
        value = payload.get(field)
        if value is not None and not isinstance(value, str):
            raise ValidationFailed(f"{field} must be a string", field=field)
        if value and value.strip():
            parts.append(" ".join(value.split()))
    if not parts:
        raise ValidationFailed("give a seed, or a show_title and/or title to derive one from", field="seed")
    return "|".join(parts)


def render_and_store(settings: Settings, seed: str) -> list[PendingAsset]:
    """Render the bed and stings and store them as 16-bit WAV (CPU-bound)."""
    parts = render_music(seed)
    assert parts.spec is not None
    store = ObjectStore.from_settings(settings)
    base = {"agent": "music", "provider": "aether-synth", "seed": seed, "sample_rate": SAMPLE_RATE, "channels": 1}
    out = []
    for role, samples, label in (
        ("music_bed", parts.bed, "music bed (loop)"),
        ("music_intro", parts.intro, "intro sting"),
        ("music_outro", parts.outro, "outro sting"),
    ):
        obj = store.put_bytes(wav_bytes(samples), suffix=".wav", mime_type="audio/wav")
        meta = base | {
            "duration_s": round(seconds(samples.size), 3),
            "title": f"{parts.spec.key}, {parts.spec.bpm:g} bpm",
        }
        out.append(PendingAsset(role, f"{seed[:200]} — {label}", "audio", obj, meta))
    return out


def result_of(assets: Mapping[str, Asset], seed: str) -> dict[str, Any]:
    spec = spec_for(seed)
    music = {
        "bed_uri": assets["music_bed"].uri,
        "intro_uri": assets["music_intro"].uri,
        "outro_uri": assets["music_outro"].uri,
        "seed": seed,
        "key": spec.key,
        "bpm": spec.bpm,
    }
    return {
        "music": music,
        "music_asset_id": assets["music_bed"].id,
        "bed_uri": music["bed_uri"],
        "intro_uri": music["intro_uri"],
        "outro_uri": music["outro_uri"],
        "assets": {role: {"id": a.id, "uri": a.uri, "type": a.type} for role, a in assets.items()},
    }


async def make_music(
    settings: Settings, db: Database, seed: str, *, workflow_id: str | None = None, run_cpu: RunCpu = to_thread
) -> dict[str, Any]:
    """The music step (the task handler, tests, benchmarks): rendered every time and stored once (the same
    seed gives the same bytes, so a second run records no new rows); no render key, so nothing is looked up."""
    render = partial(render_and_store, settings, seed)
    assets, _ = await render_once(db, None, ROLES, render, run_cpu=run_cpu, workflow_id=workflow_id)
    return result_of(assets, seed)


@tasks.task("music.bed", agent="music")
async def handle_bed(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    with bad_input_is_permanent():
        seed = music_seed(payload)
    return await make_music(ctx.settings, ctx.db, seed, workflow_id=ctx.workflow_id, run_cpu=ctx.run_cpu)
