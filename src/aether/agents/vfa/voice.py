"""VFA, the Voice Forge Agent: a script in, a finished, listenable episode out.

Task `vfa.synthesize` (agent "vfa"):

    payload  {"script": {...} | {"script": {...}},   # PSWA's script (see aether.media.script)
              "speech": {"cast", "language", "pronunciations": [{"text", "say"}], "loudness_lufs",
                         "music": bool}?,           # the show's speech settings (the draft step's)
              "cover_uri": str?,                    # cover art to embed (IGA's output)
              "show_title": str?, "author": str?,   # the show's name and author: the tags' album and artist
              "music": {"bed_uri", "intro_uri", "outro_uri"} | {"seed": str} | false?}   # music agent's output
    result   {"audio_asset_id", "audio_uri", "opus_asset_id", "opus_uri", "transcript_asset_id",
              "transcript_uri", "chapters_asset_id", "chapters_uri", "duration_s", "loudness_lufs",
              "true_peak_dbtp", "voices", "lines_total", "lines_synthesized", "render_key", "cached",
              "assets": {role: {id, uri}}}

The same inputs (script, voices, lexicon, music, cover, mastering settings) give the same render key; a
second run finds the assets of the first by that key and renders nothing. Within a render, each line
is taken from the clip cache (aether.agents.vfa.clips) when it was spoken before with the same voice,
so an edited script speaks only its changed lines (`lines_synthesized` of `lines_total`). The whole step is
`await synthesize_episode(settings, db, plan(settings, payload))`, as the task handler runs it (bad input
fails at once).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from asyncio import to_thread
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from aether.agents.vfa.episode import AudioOptions, Progress, render_episode_audio
from aether.config import Settings
from aether.db import Database
from aether.errors import ValidationFailed
from aether.media.audio import read_wav
from aether.media.music import MusicParts, render_music
from aether.media.script import Script, parse_script
from aether.media.tags import tag_cover
from aether.providers.tts import VoiceSettings, default_threads, script_voices
from aether.queue import scratch
from aether.queue.tasks import Blueprint, TaskContext, bad_input_is_permanent
from aether.storage import Asset, ObjectStore, PendingAsset, Render, RunCpu, render_once

ENGINE_VERSION = "vfa-1"
ROLES = ("audio", "opus", "transcript", "chapters")


tasks = Blueprint()


@dataclass(frozen=True)
class VoiceJob:
    script: Script
    voices: list[VoiceSettings]
    music: dict[str, Any] | None  # {"bed_uri", "intro_uri", "outro_uri"} or {"seed"}; None = no music
    cover_uri: str | None
    options: AudioOptions
    render_key: str
    lexicon: tuple[tuple[str, str], ...] = ()


def plan(settings: Settings, payload: Mapping[str, Any]) -> VoiceJob:
    """Validate the payload and work out everything the render depends on (no rendering yet)."""
    if not isinstance(payload, Mapping):
        raise ValidationFailed("the payload must be a JSON object", field="payload")
    if "script" not in payload:
        raise ValidationFailed("payload.script is required (PSWA's script JSON)", field="script")
    script = _with_show(parse_script(payload["script"]), payload)
    cover_uri = payload.get("cover_uri")
    if cover_uri is not None and (not isinstance(cover_uri, str) or not cover_uri):
        raise ValidationFailed("cover_uri must be an object URI", field="cover_uri")
    speech = _speech(payload.get("speech"))
    music = _music_ref(settings, False if speech.get("music") is False else payload.get("music"), script)
    lexicon = _lexicon(speech.get("pronunciations"))
    voices = script_voices(settings, speech.get("cast"), [h.name for h in script.hosts])
    loudness = speech.get("loudness_lufs")
    options = AudioOptions(
        loudness_lufs=float(loudness) if loudness is not None else settings.audio_loudness_lufs,
        true_peak_dbtp=settings.audio_true_peak_dbtp,
        mp3_bitrate=settings.audio_mp3_bitrate,
        opus_bitrate=settings.audio_opus_bitrate,
        threads=default_threads(settings),
    )
    key_source = {
        "engine": ENGINE_VERSION,
        "script": script.fingerprint(),
        "voices": [v.fingerprint() for v in voices],
        "music": music,
        "lexicon": lexicon,
        "cover": cover_uri,
        "options": [options.loudness_lufs, options.true_peak_dbtp, options.mp3_bitrate, options.opus_bitrate],
    }
    render_key = hashlib.sha256(json.dumps(key_source, sort_keys=True).encode()).hexdigest()
    return VoiceJob(script, voices, music, cover_uri, options, render_key, tuple(lexicon))


def _speech(raw: Any) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValidationFailed("speech must be an object (the draft step's speech settings)", field="speech")
    loudness = raw.get("loudness_lufs")
    if loudness is not None and (
        isinstance(loudness, bool) or not isinstance(loudness, int | float) or not -30 <= loudness <= -9
    ):
        raise ValidationFailed("speech.loudness_lufs must be a number from -30 to -9", field="speech.loudness_lufs")
    return raw


def _lexicon(raw: Any) -> list[tuple[str, str]]:
    """The show's pronunciations as (text, say) pairs."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValidationFailed("speech.pronunciations must be a list of {text, say}", field="speech.pronunciations")
    pairs = []
    for index, item in enumerate(raw):
        text, say = (item.get("text"), item.get("say")) if isinstance(item, Mapping) else (None, None)
        if not isinstance(text, str) or not text.strip() or not isinstance(say, str) or not say.strip():
            field = f"speech.pronunciations[{index}]"
            raise ValidationFailed(f"{field} must be {{text, say}} with both set", field=field)
        pairs.append((text, say))
    return pairs


def _with_show(script: Script, payload: Mapping[str, Any]) -> Script:
    """The script under the show's own name and author when the payload gives them."""
    show_title, author = _name(payload, "show_title"), _name(payload, "author")
    return replace(script, show_title=show_title or script.show_title, author=author or script.author)


def _name(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 200:
        raise ValidationFailed(f"{key} must be a string of at most 200 characters", field=key)
    return " ".join(value.split())


def _music_ref(settings: Settings, raw: Any, script: Script) -> dict[str, Any] | None:
    if raw is False or not settings.music_enabled:
        return None
    if raw is None or raw is True:
        return {"seed": f"{script.show_title}|{script.episode_title}"}
    if isinstance(raw, Mapping) and isinstance(raw.get("music"), Mapping):
        raw = raw["music"]
    if isinstance(raw, Mapping):
        uris = {k: raw.get(k) for k in ("bed_uri", "intro_uri", "outro_uri")}
        if all(isinstance(v, str) and v for v in uris.values()):
            return uris
        if isinstance(raw.get("seed"), str) and raw["seed"]:
            return {"seed": raw["seed"]}
    raise ValidationFailed(
        "music must be the music agent's output ({bed_uri, intro_uri, outro_uri}), {seed}, or false", field="music"
    )


def _load_music(store: ObjectStore, ref: dict[str, Any] | None) -> MusicParts | None:
    if ref is None:
        return None
    if "seed" in ref:
        return render_music(str(ref["seed"]))
    parts = []
    for key in ("bed_uri", "intro_uri", "outro_uri"):
        samples, rate = read_wav(store.get_bytes(ref[key]))
        if rate != 44100:
            raise ValidationFailed(f"music.{key} must be 44.1 kHz (got {rate} Hz)", field=f"music.{key}")
        parts.append(samples)
    return MusicParts(parts[0], parts[1], parts[2])


def render_and_store(
    settings: Settings, job: VoiceJob, progress: Progress | None = None, *, owner: str | None = None
) -> list[PendingAsset]:
    """Render the episode audio and store its four objects (CPU-bound: runs in the worker's CPU pool); the
    scratch folder is named after `owner`, the task attempt rendering (aether.queue.scratch)."""
    store = ObjectStore.from_settings(settings)
    cover = tag_cover(store.get_bytes(job.cover_uri)) if job.cover_uri else None
    music = _load_music(store, job.music)
    workdir = scratch.make_dir(settings, "vfa", owner)
    try:
        result = render_episode_audio(
            job.script,
            workdir,
            voices=job.voices,
            music=music,
            cover_jpeg=cover,
            options=job.options,
            progress=progress,
            clips=store,
            lexicon=job.lexicon,
        )
        script = job.script
        common: dict[str, Any] = {
            "agent": "vfa",
            "render_key": job.render_key,
            "title": script.episode_title,
            "source_urls": list(script.source_urls) or None,
        }
        audio_facts = common | {
            "duration_s": round(result.duration_s, 3),
            "provider": "+".join(sorted({v.engine for v in job.voices})),
            "model": sorted({v.model_name for v in job.voices}),
            "voice": result.voices[0],
            "voices": result.voices,
            "sample_rate": 44100,
            "channels": 1,
            "loudness_lufs": result.loudness_lufs,
            "lines_total": result.lines_total,
            "lines_synthesized": result.lines_synthesized,
        }
        return [
            PendingAsset(
                "audio",
                f"{script.episode_title} (MP3)",
                "audio",
                store.put_file(result.mp3, mime_type="audio/mpeg"),
                audio_facts | {"bitrate_kbps": job.options.mp3_bitrate, "true_peak_dbtp": result.true_peak_dbtp},
            ),
            PendingAsset(
                "opus",
                f"{script.episode_title} (Opus)",
                "audio",
                store.put_file(result.opus, mime_type="audio/ogg"),
                audio_facts | {"bitrate_kbps": job.options.opus_bitrate, "true_peak_dbtp": result.opus_true_peak_dbtp},
            ),
            PendingAsset(
                "transcript",
                f"{script.episode_title} (transcript)",
                "transcript",
                store.put_file(result.transcript, mime_type="text/vtt"),
                common | {"duration_s": round(result.duration_s, 3)},
            ),
            PendingAsset(
                "chapters",
                f"{script.episode_title} (chapters)",
                "chapters",
                store.put_file(result.chapters, mime_type="application/json+chapters"),
                common | {"duration_s": round(result.duration_s, 3)},
            ),
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def result_of(assets: Mapping[str, Asset], job: VoiceJob, *, cached: bool) -> dict[str, Any]:
    audio = assets["audio"]
    out: dict[str, Any] = {}
    for role in ROLES:
        out[f"{role}_asset_id"] = assets[role].id
        out[f"{role}_uri"] = assets[role].uri
    out |= {
        "duration_s": audio.metadata.get("duration_s"),
        "loudness_lufs": audio.metadata.get("loudness_lufs"),
        "true_peak_dbtp": audio.metadata.get("true_peak_dbtp"),
        "voices": audio.metadata.get("voices"),
        "lines_total": audio.metadata.get("lines_total"),
        "lines_synthesized": 0 if cached else audio.metadata.get("lines_synthesized"),
        "title": job.script.episode_title,
        "render_key": job.render_key,
        "cached": cached,
        "assets": {role: {"id": assets[role].id, "uri": assets[role].uri, "type": assets[role].type} for role in ROLES},
    }
    return out


async def synthesize_episode(
    settings: Settings,
    db: Database,
    job: VoiceJob,
    *,
    workflow_id: str | None = None,
    run_cpu: RunCpu = to_thread,
    owner: str | None = None,
) -> dict[str, Any]:
    """The VFA step (the task handler, tests, benchmarks): the assets of this render key, rendered once."""
    render = partial(render_and_store, settings, job, owner=owner)
    assets, cached = await render_once(db, job.render_key, ROLES, render, run_cpu=run_cpu, workflow_id=workflow_id)
    return result_of(assets, job, cached=cached)


@tasks.task("vfa.synthesize", agent="vfa")
async def handle_synthesize(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    with bad_input_is_permanent():
        job = plan(ctx.settings, payload)

    async def run_cpu(render: Render) -> list[PendingAsset]:
        ctx.raise_if_cancelled()  # the render is long: a task cancelled meanwhile does not start it
        return await ctx.run_cpu(render)

    return await synthesize_episode(
        ctx.settings, ctx.db, job, workflow_id=ctx.workflow_id, run_cpu=run_cpu, owner=scratch.owner(ctx)
    )
