"""Video agent end to end: the MP4s decoded (one H.264 and one AAC stream, sizes, durations), stored
once."""

from __future__ import annotations

from pathlib import Path

import pytest

from aether.agents.iga import cover as iga
from aether.agents.vfa import voice as vfa
from aether.agents.video import render as video
from aether.config import Settings
from aether.db import Database
from aether.errors import ValidationFailed
from aether.media.ffmpeg import decoded_duration, probe
from aether.storage import ObjectStore
from tests.media.scripts import short_script


@pytest.mark.slow
async def test_videos_of_an_episode(settings: Settings, adb: Database, tmp_path: Path) -> None:
    script = short_script()
    cover = await iga.make_episode_cover(settings, adb, iga.plan(settings, {"title": script["episode_title"]}))
    audio = await vfa.synthesize_episode(
        settings,
        adb,
        vfa.plan(
            settings,
            {"script": script, "cover_uri": cover["cover_uri"], "music": False, "show_title": "Herald Hour"},
        ),
    )
    payload = {
        "audio_uri": audio["audio_uri"],
        "cover_uri": cover["cover_uri"],
        "transcript_uri": audio["transcript_uri"],
        "chapters_uri": audio["chapters_uri"],
        "title": script["episode_title"],
        "author": "Hannah Herald",
    }  # no show_title: the show is the one the chapters name
    result = await video.render_video(settings, adb, video.plan(settings, payload))
    store = ObjectStore.from_settings(settings)
    mp4 = store.download(result["video_uri"], tmp_path / "v.mp4")
    clip = store.download(result["clip_uri"], tmp_path / "c.mp4")
    for path, size, expected in ((mp4, (1920, 1080), audio["duration_s"]), (clip, (1080, 1920), None)):
        info = probe(path)
        videos, audios = info.of_kind("video"), info.of_kind("audio")
        assert len(videos) == 1 and len(audios) == 1
        assert videos[0].codec == "h264" and audios[0].codec == "aac"
        assert (videos[0].width, videos[0].height) == size
        assert info.duration_s is not None
        if expected is not None:
            assert abs(info.duration_s - expected) < 0.6
            assert abs(decoded_duration(path) - expected) < 0.6
        else:
            assert 1.0 < info.duration_s <= 60.0
        assert info.tags.get("title") == script["episode_title"] and info.tags.get("album") == "Herald Hour"
        assert info.tags.get("artist") == "Hannah Herald"
        head = path.read_bytes()[:200_000]
        assert head.find(b"moov") != -1 and head.find(b"moov") < head.find(b"mdat")  # +faststart
    assert result["clip_start_s"] is not None and result["clip_end_s"] <= audio["duration_s"]
    rows = await adb.fetch_all("SELECT metadata FROM assets WHERE type = 'video' ORDER BY id")
    assert [r["metadata"]["width"] for r in rows] == [1920, 1080]
    again = await video.render_video(settings, adb, video.plan(settings, payload))
    assert again["cached"] and again["video_asset_id"] == result["video_asset_id"]
    assert len(await adb.fetch_all("SELECT id FROM assets WHERE type = 'video'")) == 2


async def test_bad_video_input(settings: Settings, adb: Database) -> None:
    with pytest.raises(ValidationFailed) as info:
        await video.render_video(settings, adb, video.plan(settings, {"title": "x", "audio_uri": 5}))
    assert info.value.field == "audio_uri"
    with pytest.raises(ValidationFailed) as info:
        video.plan(settings, {"title": "x", "author": ["a"]})
    assert info.value.field == "author"
