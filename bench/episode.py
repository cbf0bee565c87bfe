"""Benchmark: a whole episode of about five minutes of speech, offline defaults, end to end: cover art,
music, voice (Piper, mixing, mastering, MP3 + Opus, transcript, chapters) and video (1920x1080 MP4 and
the vertical clip). Objects go to a temporary AETHER_HOME; no database is needed.

    .venv/bin/python -P bench/episode.py [--minutes 5] [--threads N] [--fps N]

(-P: bench/queue.py must not shadow the standard library's queue module.)

Prints each stage's time, then as its last line exactly:
    audio_s=N wall_s=N realtime_factor=X peak_rss_mb=N
(peak_rss_mb: the largest resident set of this process or of any child it waited for, e.g. ffmpeg).
Target on a 2-core machine: audio and video of a 5-minute episode in under 60 s (realtime factor >= 5),
peak RSS under 1.5 GiB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aether.agents.iga import cover as iga
from aether.agents.music import bed as music
from aether.agents.vfa import voice as vfa
from aether.agents.video import render as video
from aether.config import load_settings
from aether.media.script import parse_script
from aether.providers.tts import host_voices, load_voice

WORDS_PER_MINUTE = 175  # Piper's joe voice at its natural pace, pauses included

FACTS = [
    "Small language models now run on an ordinary laptop without a graphics card.",
    "A model with three billion parameters fits in about two gigabytes once it is quantised.",
    "Developers use them for code completion, for search over their own notes, and for quick summaries.",
    "Because nothing leaves the machine, private documents stay private.",
    "The trade-off is knowledge: a small model knows less about the world than a large one.",
    "Retrieval fills that gap by handing the model the right passages at the right time.",
    "Energy use drops sharply when a query runs locally instead of in a data centre.",
    "Open weights mean a team can fine-tune a model on its own vocabulary in an afternoon.",
    "Benchmarks suggest the gap to the largest models shrinks a little with every release.",
    "For many everyday tasks, a fast answer that is good enough beats a slow perfect one.",
]
REACTIONS = [
    "That is a bigger deal than it sounds.",
    "So what does that mean in practice?",
    "I tried that last week, and honestly it surprised me!",
    "Right, and the cost side matters too.",
    "Let's unpack that for a second.",
    "Which brings us to the obvious question: is it good enough?",
]


def build_script(minutes: float) -> dict[str, Any]:
    target_words = int(minutes * WORDS_PER_MINUTE)
    segments: list[dict[str, Any]] = [
        {
            "kind": "intro",
            "title": "Welcome",
            "lines": [
                {
                    "speaker": "Alex",
                    "text": "Welcome to Aether Daily, the show about technology that fits in your pocket.",
                },
                {"speaker": "Sam", "text": "Today: why small language models are suddenly everywhere."},
            ],
        }
    ]
    words = sum(len(line["text"].split()) for line in segments[0]["lines"])
    topic = 0
    while words < target_words - 40:
        topic += 1
        lines = []
        for index in range(8):
            fact = FACTS[(topic * 3 + index) % len(FACTS)]
            reaction = REACTIONS[(topic + index) % len(REACTIONS)]
            speaker, other = ("Alex", "Sam") if index % 2 == 0 else ("Sam", "Alex")
            lines.append({"speaker": speaker, "text": fact})
            lines.append({"speaker": other, "text": reaction})
            words += len(fact.split()) + len(reaction.split())
            if words >= target_words - 40:
                break
        segments.append({"kind": "topic", "title": f"Part {topic}: small models in practice", "lines": lines})
    segments.append(
        {
            "kind": "outro",
            "title": "Goodbye",
            "lines": [
                {"speaker": "Sam", "text": "That's all for today. Thanks for listening!"},
                {"speaker": "Alex", "text": "See you next time on Aether Daily."},
            ],
        }
    )
    return {
        "show_title": "Aether Daily",
        "episode_title": "Small models, big changes",
        "description": "Why small language models are suddenly everywhere.",
        "language": "en",
        "hosts": [{"name": "Alex", "persona": "lead"}, {"name": "Sam", "persona": "co-host"}],
        "segments": segments,
    }


def peak_rss_mb() -> int:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the script in minutes of speech")
    parser.add_argument("--threads", type=int, default=0, help="speech threads (0 = one per core)")
    parser.add_argument("--fps", type=int, default=None, help="video frame rate (default AETHER_VIDEO_FPS)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="aether-bench-") as home:
        overrides: dict[str, Any] = {"home": Path(home), "tts_threads": args.threads}
        if args.fps:
            overrides["video_fps"] = args.fps
        settings = load_settings(**overrides)
        payload = build_script(args.minutes)
        script = parse_script(payload)
        print(f"script: {len(script.lines)} lines, {script.word_count} words", flush=True)
        stages: dict[str, float] = {}
        wall_start = time.perf_counter()

        start = time.perf_counter()
        load_voice(host_voices(settings, 1)[0].piper_model)
        stages["voice model load"] = time.perf_counter() - start

        start = time.perf_counter()
        cover_job = iga.plan(settings, {"title": script.episode_title, "show_title": script.show_title})
        cover = iga.render_and_store(settings, cover_job)[0]
        stages["cover art"] = time.perf_counter() - start

        start = time.perf_counter()
        bed = {
            p.role: p.obj.uri
            for p in music.render_and_store(
                settings, music.music_seed({"show_title": "Aether Daily", "title": script.episode_title})
            )
        }
        stages["music"] = time.perf_counter() - start

        start = time.perf_counter()
        job = vfa.plan(
            settings,
            {
                "script": payload,
                "cover_uri": cover.obj.uri,
                "music": {
                    "bed_uri": bed["music_bed"],
                    "intro_uri": bed["music_intro"],
                    "outro_uri": bed["music_outro"],
                },
            },
        )
        audio = {p.role: p for p in vfa.render_and_store(settings, job)}
        stages["voice, mix, master, encode"] = time.perf_counter() - start

        start = time.perf_counter()
        video_job = video.plan(
            settings,
            {
                "audio_uri": audio["audio"].obj.uri,
                "cover_uri": cover.obj.uri,
                "transcript_uri": audio["transcript"].obj.uri,
                "chapters_uri": audio["chapters"].obj.uri,
                "title": script.episode_title,
                "show_title": script.show_title,
            },
        )
        videos = {p.role: p for p in video.render_and_store(settings, video_job)}
        stages["video + vertical clip"] = time.perf_counter() - start
        wall = time.perf_counter() - wall_start

        audio_meta = audio["audio"].metadata
        audio_s = float(audio_meta["duration_s"])
        for name, seconds in stages.items():
            print(f"  {name:<30} {seconds:7.2f} s", flush=True)
        print(
            f"  loudness {audio_meta['loudness_lufs']} LUFS, true peak {audio_meta['true_peak_dbtp']} dBTP, "
            f"video {videos['video'].metadata['duration_s']} s at {settings.video_fps} fps, "
            f"clip {videos['clip'].metadata['duration_s']} s",
            flush=True,
        )
    print(
        f"audio_s={audio_s:.1f} wall_s={wall:.1f} realtime_factor={audio_s / wall:.2f} peak_rss_mb={peak_rss_mb()}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
