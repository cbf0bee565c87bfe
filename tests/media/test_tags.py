"""The show's identity in the audio tags: album = the show's title, artist = its author (the hosts when
the show names no author), read back from real MP3 and Ogg Opus files with mutagen and ffprobe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mutagen.id3 import ID3
from mutagen.oggopus import OggOpus

from aether.media.chapters import Chapter
from aether.media.encode import Mp3Sink, OpusSink
from aether.media.ffmpeg import probe
from aether.media.tags import EpisodeTags, write_id3, write_opus_tags


def _encode(tmp_path: Path) -> tuple[Path, Path]:
    t = np.arange(44100) / 44100
    tone = (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    mp3, opus = tmp_path / "e.mp3", tmp_path / "e.opus"
    with Mp3Sink(mp3, bitrate_kbps=64) as a, OpusSink(opus, bitrate_kbps=32) as b:
        a(tone)
        b(tone)
    return mp3, opus


def _tags(author: str) -> EpisodeTags:
    return EpisodeTags(
        title="Balcony solar for renters",
        show="Herald Hour",
        hosts=["Alex", "Sam"],
        description="What plug-in panels mean for tenants.",
        language="en",
        chapters=[Chapter(0.0, 0.5, "Welcome"), Chapter(0.5, 1.0, "Goodbye")],
        author=author,
    )


def test_album_is_the_show_and_artist_its_author(tmp_path: Path) -> None:
    mp3, opus = _encode(tmp_path)
    tags = _tags("Hannah Herald")
    write_id3(mp3, tags)
    write_opus_tags(opus, tags)

    id3 = ID3(str(mp3))
    assert str(id3["TALB"]) == "Herald Hour" and str(id3["TPE1"]) == "Hannah Herald"
    assert str(id3["TPE2"]) == "Hannah Herald" and str(id3["TIT2"]) == "Balcony solar for renters"
    vorbis = OggOpus(str(opus)).tags
    assert vorbis is not None
    assert vorbis["album"] == ["Herald Hour"] and vorbis["artist"] == ["Hannah Herald"]
    assert vorbis["albumartist"] == ["Hannah Herald"]
    # what any other player reads (ffprobe: format tags of the MP3, stream tags of the Opus)
    assert probe(mp3).tags.get("album") == "Herald Hour" and probe(mp3).tags.get("artist") == "Hannah Herald"
    everything = str(id3) + repr(vorbis)
    assert "Aether Daily" not in everything


def test_without_an_author_the_hosts_are_the_artist(tmp_path: Path) -> None:
    mp3, opus = _encode(tmp_path)
    tags = _tags("")
    write_id3(mp3, tags)
    write_opus_tags(opus, tags)
    id3 = ID3(str(mp3))
    assert str(id3["TALB"]) == "Herald Hour" and str(id3["TPE1"]) == "Alex & Sam" and "TPE2" not in id3
    vorbis = OggOpus(str(opus)).tags
    assert vorbis is not None and vorbis["artist"] == ["Alex", "Sam"] and "albumartist" not in vorbis
