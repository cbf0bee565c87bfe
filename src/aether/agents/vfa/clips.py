"""The clip cache: every spoken line kept in the object store under the fingerprint of what decides its
sound, so that a re-render speaks only the lines that changed.

A line's fingerprint is the SHA-256 of the text as the voice says it (after the show's lexicon and the
spelling-out of numbers, aether.text.speech) and the voice's settings (engine, model, pitch, tempo,
volume, timbre: `VoiceSettings.fingerprint()`). The transcript keeps the written text; only the speech
changes. A clip is stored as 16-bit WAV under `clips/<fp[:2]>/<fp>.wav`; a freshly synthesized line is
rounded to 16 bits too, so a line sounds the same whether it was spoken now or taken from the cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from aether.media.audio import Samples, read_wav, wav_bytes
from aether.providers.tts import VoiceSettings, synthesize, synthesize_many
from aether.storage import ObjectStore

CLIP_VERSION = "clip-1"  # bump when synthesis changes how a line sounds


def fingerprint(spoken: str, voice: VoiceSettings) -> str:
    """The key of one line: its spoken text and its voice."""
    return hashlib.sha256(f"{CLIP_VERSION}\n{voice.fingerprint()}\n{spoken}".encode()).hexdigest()


def clip_key(fp: str) -> str:
    return f"clips/{fp[:2]}/{fp}.wav"


@dataclass
class SpeechStats:
    lines_total: int = 0
    lines_synthesized: int = 0
    synthesized: list[str] = field(default_factory=list)  # fingerprints spoken in this render


def speak(
    jobs: Sequence[tuple[str, VoiceSettings]],
    store: ObjectStore | None,
    *,
    threads: int,
    on_line: Callable[[int], None] | None = None,
    stats: SpeechStats | None = None,
) -> Iterator[Samples]:
    """Each line's audio in order: from the cache when its fingerprint is there, else synthesized (only
    those, in parallel) and put in the cache. Without a store every line is synthesized. Cached clips are
    read one at a time as their turn comes, so memory stays flat however long the episode."""
    stats = stats if stats is not None else SpeechStats()
    keys = [fingerprint(text, voice) for text, voice in jobs]
    cached = {i for i, fp in enumerate(keys) if store is not None and store.exists(clip_key(fp))}
    missing = [i for i in range(len(jobs)) if i not in cached]
    stats.lines_total = len(jobs)
    stats.lines_synthesized = len(missing)
    fresh = synthesize_many([jobs[i] for i in missing], threads=threads)
    for index, (text, voice) in enumerate(jobs):
        data = store.get_named(clip_key(keys[index])) if store is not None and index in cached else None
        if data is None:
            if index in cached:  # removed since it was found: spoken now after all
                stats.lines_synthesized += 1
            data = wav_bytes(next(fresh) if index not in cached else synthesize(text, voice))
            if store is not None:
                store.put_named(clip_key(keys[index]), data)
            stats.synthesized.append(keys[index])
        if on_line:
            on_line(index + 1)
        yield read_wav(data)[0]  # a fresh line as the cache will give it back
