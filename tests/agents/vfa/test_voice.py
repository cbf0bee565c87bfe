"""VFA end to end: a real script voiced by Piper, mixed with music, mastered, encoded, tagged; every
output decoded and checked; a second run renders and stores nothing new."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mutagen.id3 import ID3
from mutagen.oggopus import OggOpus

from aether.agents.iga import cover as iga
from aether.agents.music import bed as music
from aether.agents.vfa import voice as vfa
from aether.config import Settings
from aether.db import Database
from aether.errors import ValidationFailed
from aether.media.ffmpeg import probe
from aether.media.transcript import MUSIC, parse_webvtt
from aether.run.wiring import TASKS
from aether.storage import ObjectStore
from tests.media.checks import decode, loudness, true_peak_dbtp
from tests.media.scripts import short_script


async def _count(db: Database, table: str = "assets") -> int:
    row = await db.fetch_one(f"SELECT count(*) AS n FROM {table}")  # type: ignore[arg-type]
    assert row is not None
    return int(row["n"])


def _objects(settings: Settings) -> list[Path]:
    return sorted(p for p in (settings.home / "objects").rglob("*") if p.is_file())


def _local(store: ObjectStore, uri: str, tmp_path: Path, name: str) -> Path:
    return store.download(uri, tmp_path / name)


@pytest.mark.slow
async def test_episode_audio_end_to_end(settings: Settings, adb: Database, tmp_path: Path) -> None:
    script = short_script()
    cover_payload = {"title": script["episode_title"], "show_title": script["show_title"]}
    cover = await iga.make_episode_cover(settings, adb, iga.plan(settings, cover_payload))
    seed = music.music_seed({"show_title": script["show_title"], "title": script["episode_title"]})
    bed = await music.make_music(settings, adb, seed)
    payload: dict[str, Any] = {
        "script": script,
        "cover_uri": cover["cover_uri"],
        "music": bed["music"],
        "show_title": "Herald Hour",
        "author": "Hannah Herald",
    }
    result = await vfa.synthesize_episode(settings, adb, vfa.plan(settings, payload))
    assert result["cached"] is False
    store = ObjectStore.from_settings(settings)
    mp3 = _local(store, result["audio_uri"], tmp_path, "e.mp3")
    opus = _local(store, result["opus_uri"], tmp_path, "e.opus")
    cues = parse_webvtt(store.get_bytes(result["transcript_uri"]).decode())
    chapters = json.loads(store.get_bytes(result["chapters_uri"]))

    # transcript: every line, in order, with real timings inside the audio
    speech = [c for c in cues if c.speaker]
    assert [c.text for c in speech] == [line["text"] for seg in script["segments"] for line in seg["lines"]]
    assert [c.speaker for c in speech] == [line["speaker"] for seg in script["segments"] for line in seg["lines"]]
    assert cues[0].text == MUSIC and cues[-1].text == MUSIC
    for before, after in itertools.pairwise(cues):
        assert before.start < before.end <= after.start + 1e-3
    transcript_end = cues[-1].end

    # decoded MP3 and Opus: duration, loudness, true peak
    for path in (mp3, opus):
        samples = decode(path)
        assert abs(samples.size / 44100 - transcript_end) < 1.0, path.name
        assert abs(loudness(samples) - (-16.0)) <= 1.0, path.name
        assert true_peak_dbtp(samples) <= -1.0, path.name
    samples = decode(mp3)
    for cue in speech:  # there is speech where the transcript says a line is spoken
        part = samples[int(cue.start * 44100) : int(cue.end * 44100)]
        assert np.sqrt(np.mean(part**2)) > 0.02, cue.text
    info = probe(mp3)
    assert info.of_kind("audio")[0].codec == "mp3" and info.of_kind("audio")[0].sample_rate == 44100

    # ID3: title, the show (album) and its author (artist) from the payload, cover, chapters
    tags = ID3(str(mp3))
    assert str(tags["TIT2"]) == script["episode_title"] and str(tags["TALB"]) == "Herald Hour"
    assert str(tags["TPE1"]) == "Hannah Herald"
    apic = tags.getall("APIC")[0]
    assert apic.mime == "image/jpeg" and apic.type == 3 and apic.data[:2] == b"\xff\xd8"
    chaps = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    assert [str(c.sub_frames["TIT2"]) for c in chaps] == ["Welcome", "Small models", "Goodbye"]
    assert chaps[0].start_time == 0 and abs(chaps[-1].end_time / 1000 - transcript_end) < 0.01
    assert tags.getall("CTOC")[0].child_element_ids == [c.element_id for c in chaps]
    opus_tags = OggOpus(str(opus)).tags
    assert opus_tags is not None
    assert opus_tags["title"] == [script["episode_title"]] and opus_tags["CHAPTER001NAME"] == ["Small models"]
    assert opus_tags["album"] == ["Herald Hour"] and opus_tags["artist"] == ["Hannah Herald"]
    assert "METADATA_BLOCK_PICTURE" in opus_tags

    # Podcasting 2.0 chapters at the segment boundaries, under the show's name
    assert chapters["version"] == "1.2.0" and chapters["podcastName"] == "Herald Hour"
    assert [c["title"] for c in chapters["chapters"]] == ["Welcome", "Small models", "Goodbye"]
    second_topic_line = speech[2]
    assert chapters["chapters"][1]["startTime"] <= second_topic_line.start

    # asset rows with their metadata
    row = await adb.fetch_one("SELECT * FROM assets WHERE id = %s", (result["audio_asset_id"],))
    assert row is not None and row["type"] == "audio" and row["path"] == result["audio_uri"]
    meta = row["metadata"]
    assert meta["mime_type"] == "audio/mpeg" and meta["bytes"] == mp3.stat().st_size and len(meta["sha256"]) == 64
    assert meta["provider"] == "piper" and meta["agent"] == "vfa" and meta["source_urls"] == ["https://example.org/a"]
    assert abs(meta["duration_s"] - transcript_end) < 0.01 and len(meta["voices"]) == 2
    kinds = {r["type"] for r in await adb.fetch_all("SELECT type FROM assets")}
    assert kinds == {"audio", "image", "transcript", "chapters"}

    # a second run with the same inputs: nothing rendered, no new objects or rows
    rows, objects = await _count(adb), _objects(settings)
    again = await vfa.synthesize_episode(settings, adb, vfa.plan(settings, payload))
    assert again["cached"] is True and again["audio_uri"] == result["audio_uri"]
    assert (await iga.make_episode_cover(settings, adb, iga.plan(settings, cover_payload)))["cover_uri"] == cover[
        "cover_uri"
    ]
    await music.make_music(settings, adb, seed)
    assert await _count(adb) == rows and _objects(settings) == objects


async def test_bad_payloads_are_refused_before_any_work(settings: Settings, adb: Database) -> None:
    script = short_script()
    script["segments"][1]["lines"][0]["speaker"] = "Nobody"
    with pytest.raises(ValidationFailed) as info:
        await vfa.synthesize_episode(settings, adb, vfa.plan(settings, {"script": script}))
    assert info.value.field == "script.segments[1].lines[0].speaker"
    with pytest.raises(ValidationFailed) as info:
        await vfa.synthesize_episode(
            settings, adb, vfa.plan(settings, {"script": short_script(), "music": {"bed_uri": 3}})
        )
    assert info.value.field == "music"
    with pytest.raises(ValidationFailed) as info:
        await vfa.synthesize_episode(settings, adb, vfa.plan(settings, {}))
    assert info.value.field == "script"
    assert (await _count(adb) == 0 and not (settings.home / "objects").exists()) or not _objects(settings)


def test_the_show_named_in_the_payload_names_the_render(settings: Settings) -> None:
    script = short_script()
    plain = vfa.plan(settings, {"script": script, "music": False})
    assert plain.script.show_title == "Aether Test Show" and plain.script.author == ""
    named = vfa.plan(settings, {"script": script, "music": False, "show_title": " Herald  Hour ", "author": "Hannah"})
    assert named.script.show_title == "Herald Hour" and named.script.author == "Hannah"
    assert named.render_key != plain.render_key  # a renamed show is a new render (its tags differ)
    other = vfa.plan(settings, {"script": script, "music": False, "show_title": "Herald Hour", "author": "Ivo"})
    assert other.render_key != named.render_key
    blank = vfa.plan(settings, {"script": script, "music": False, "show_title": "", "author": None})
    assert blank.render_key == plain.render_key
    for bad in ({"author": 7}, {"show_title": "x" * 201}):
        with pytest.raises(ValidationFailed) as info:
            vfa.plan(settings, {"script": script, "music": False} | bad)
        assert info.value.field == next(iter(bad))


def test_handlers_are_registered() -> None:
    handlers = TASKS
    for task_type, agent in (
        ("vfa.synthesize", "vfa"),
        ("music.bed", "music"),
        ("iga.cover", "iga"),
        ("video.render", "video"),
    ):
        assert handlers[task_type].agent == agent


def test_the_casts_voices_decide_the_render(settings: Settings, tmp_path: Path) -> None:
    """The show bible's voices (payload `speech.cast`) are matched to the script's hosts by name; a change of voice
    is a new render key; a missing Piper model is refused naming the host's field."""
    script = short_script()
    names = [h["name"] for h in script["hosts"]]
    plain = vfa.plan(settings, {"script": script})
    cast = [{"name": n, "persona": "", "voice": None} for n in reversed(names)]
    assert vfa.plan(settings, {"script": script, "speech": {"cast": cast}}).render_key == plain.render_key
    cast[0]["voice"] = {"engine": "piper", "model": None, "voice": None, "pitch": 1.3, "tempo": 1.0, "volume_db": 0}
    job = vfa.plan(settings, {"script": script, "speech": {"cast": cast}})
    assert job.voices[1].pitch == 1.3 and job.voices[0] == plain.voices[0]  # cast[0] is the script's 2nd host
    assert job.render_key != plain.render_key
    cast[0]["voice"] = {"engine": "piper", "model": str(tmp_path / "gone.onnx")}
    with pytest.raises(ValidationFailed) as info:
        vfa.plan(settings, {"script": script, "speech": {"cast": cast}})
    assert info.value.field == "hosts[1].voice.model"
    with pytest.raises(ValidationFailed) as info:
        vfa.plan(settings, {"script": script, "speech": {"cast": "Ada"}})
    assert info.value.field == "cast"
