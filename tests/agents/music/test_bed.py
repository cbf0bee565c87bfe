"""Music agent: bed and stings stored as WAV assets; the same seed stores nothing twice."""

from __future__ import annotations

import pytest

from aether.agents.music import bed as music
from aether.config import Settings
from aether.db import Database
from aether.errors import ValidationFailed
from aether.media.audio import read_wav
from aether.storage import ObjectStore


async def test_music_assets(settings: Settings, adb: Database) -> None:
    result = await music.make_music(
        settings, adb, music.music_seed({"show_title": "Aether Daily", "title": "Small models"})
    )
    assert result["music"]["seed"] == "Aether Daily|Small models" and result["music"]["key"]
    store = ObjectStore.from_settings(settings)
    bed, rate = read_wav(store.get_bytes(result["bed_uri"]))
    assert rate == 44100 and bed.size > 8 * rate
    rows = await adb.fetch_all("SELECT type, metadata FROM assets ORDER BY id")
    assert [r["metadata"]["role"] for r in rows] == ["music_bed", "music_intro", "music_outro"]
    assert all(r["type"] == "audio" and r["metadata"]["mime_type"] == "audio/wav" for r in rows)
    again = await music.make_music(settings, adb, music.music_seed({"seed": "Aether Daily|Small models"}))
    assert again["bed_uri"] == result["bed_uri"]
    assert len(await adb.fetch_all("SELECT id FROM assets")) == 3
    other = await music.make_music(
        settings, adb, music.music_seed({"show_title": "Aether Daily", "title": "Another topic"})
    )
    assert other["bed_uri"] != result["bed_uri"]


async def test_music_needs_a_seed(settings: Settings, adb: Database) -> None:
    with pytest.raises(ValidationFailed) as info:
        await music.make_music(settings, adb, music.music_seed({}))
    assert info.value.field == "seed"
