"""Tags of the encodings: ID3v2.3 for MP3 (title, show, author, description, language, cover as APIC,
chapters as CTOC + CHAP frames) and Vorbis comments for Ogg Opus (the same facts, cover as
METADATA_BLOCK_PICTURE, chapters as CHAPTERnnn / CHAPTERnnnNAME).

The show is the album (TALB / album) and its author the artist (TPE1 + TPE2 / artist + albumartist), as
podcast players list episodes; without an author the hosts are the artist."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen.flac
import mutagen.id3
import mutagen.oggopus
from PIL import Image

from aether.media.chapters import Chapter
from aether.media.transcript import timestamp

# mutagen is untyped: its frame classes are used through these Any-typed module handles
id3: Any = mutagen.id3
flac: Any = mutagen.flac
oggopus: Any = mutagen.oggopus

TAG_COVER_SIZE = 1400  # the smallest square podcast directories accept; keeps the tag small
ISO639_2 = {
    "en": "eng",
    "de": "deu",
    "fr": "fra",
    "es": "spa",
    "it": "ita",
    "nl": "nld",
    "pt": "por",
    "sv": "swe",
    "da": "dan",
    "no": "nor",
    "fi": "fin",
    "pl": "pol",
    "ja": "jpn",
    "zh": "zho",
}


@dataclass(frozen=True)
class EpisodeTags:
    title: str
    show: str
    hosts: list[str]
    description: str
    language: str
    chapters: list[Chapter]
    cover_jpeg: bytes | None = None
    author: str = ""

    @property
    def artist(self) -> str:
        """The show's author, else the hosts."""
        return self.author or " & ".join(self.hosts)


def tag_cover(image_bytes: bytes) -> bytes:
    """The cover as a 1400x1400 JPEG for embedding."""
    with Image.open(io.BytesIO(image_bytes)) as image:
        small = image.convert("RGB").resize((TAG_COVER_SIZE, TAG_COVER_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=88)
    return out.getvalue()


def write_id3(path: Path, tags: EpisodeTags) -> None:
    tag = id3.ID3()
    tag.add(id3.TIT2(encoding=3, text=[tags.title]))
    tag.add(id3.TALB(encoding=3, text=[tags.show]))
    tag.add(id3.TPE1(encoding=3, text=[tags.artist]))
    if tags.author:
        tag.add(id3.TPE2(encoding=3, text=[tags.author]))
    tag.add(id3.TCON(encoding=3, text=["Podcast"]))
    tag.add(id3.TSSE(encoding=3, text=["Aether (Piper TTS, LAME)"]))
    if tags.description:
        tag.add(id3.COMM(encoding=3, lang="eng", desc="", text=[tags.description]))
    language = ISO639_2.get(tags.language.split("-")[0].lower())
    if language:
        tag.add(id3.TLAN(encoding=3, text=[language]))
    if tags.cover_jpeg:
        tag.add(id3.APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=tags.cover_jpeg))
    ids = [f"chp{index}" for index in range(len(tags.chapters))]
    if ids:
        tag.add(
            id3.CTOC(
                element_id="toc",
                flags=id3.CTOCFlags.TOP_LEVEL | id3.CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[id3.TIT2(encoding=3, text=["Chapters"])],
            )
        )
    for element_id, chapter in zip(ids, tags.chapters, strict=True):
        tag.add(
            id3.CHAP(
                element_id=element_id,
                start_time=round(chapter.start * 1000),
                end_time=round(chapter.end * 1000),
                sub_frames=[id3.TIT2(encoding=3, text=[chapter.title])],
            )
        )
    tag.save(str(path), v2_version=3)


def write_opus_tags(path: Path, tags: EpisodeTags) -> None:
    audio = oggopus.OggOpus(str(path))
    assert audio.tags is not None
    audio.tags["title"] = [tags.title]
    audio.tags["album"] = [tags.show]
    audio.tags["artist"] = [tags.author] if tags.author else tags.hosts
    if tags.author:
        audio.tags["albumartist"] = [tags.author]
    audio.tags["genre"] = ["Podcast"]
    audio.tags["language"] = [tags.language]
    if tags.description:
        audio.tags["description"] = [tags.description]
    for index, chapter in enumerate(tags.chapters):
        audio.tags[f"CHAPTER{index:03d}"] = [timestamp(chapter.start)]
        audio.tags[f"CHAPTER{index:03d}NAME"] = [chapter.title]
    if tags.cover_jpeg:
        picture = flac.Picture()
        picture.type = 3
        picture.mime = "image/jpeg"
        picture.desc = "Cover"
        picture.width = picture.height = TAG_COVER_SIZE
        picture.depth = 24
        picture.data = tags.cover_jpeg
        audio.tags["METADATA_BLOCK_PICTURE"] = [base64.b64encode(picture.write()).decode("ascii")]
    audio.save()
