"""Benchmark: re-rendering an episode after one line of its script was edited, against rendering it whole.

The script is bench/episode.py's five-minute two-host script; video is off (the issue's set-up). The
first render speaks every line into an empty clip cache (aether.agents.vfa.clips) and mixes, masters and
encodes; then one line is edited and the episode is rendered again: only that line is spoken, the rest
comes from the cache, and the mix, master and encode run again as they must. Objects go to a temporary
AETHER_HOME; no database is needed.

    .venv/bin/python -P bench/rerender.py [--minutes 5] [--threads N]

Prints both stages, then as its last line exactly:
    full_s=N rerender_s=N ratio=X lines_synthesized=N lines_total=N
Target: ratio <= 0.25.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aether.agents.vfa import voice as vfa
from aether.config import load_settings
from aether.providers.tts import host_voices, load_voice

# bench/episode.py's script, by path (-P keeps bench/ off sys.path, so that bench/queue.py cannot shadow
# the standard library's queue module)
build_script = runpy.run_path(str(Path(__file__).with_name("episode.py")))["build_script"]
EDITED = "Here is the one line that was edited after the first render, and only it is spoken again."


def render(settings: Any, payload: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    job = vfa.plan(settings, {"script": payload, "music": None})
    audio = {p.role: p for p in vfa.render_and_store(settings, job)}
    return time.perf_counter() - start, dict(audio["audio"].metadata)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the script in minutes of speech")
    parser.add_argument("--threads", type=int, default=0, help="speech threads (0 = one per core)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="aether-bench-") as home:
        settings = load_settings(home=Path(home), tts_threads=args.threads)
        payload = build_script(args.minutes)
        load_voice(host_voices(settings, 1)[0].piper_model)  # loaded once, as in a running worker

        full_s, full = render(settings, payload)
        print(
            f"  full render      {full_s:7.2f} s  {full['duration_s']} s of audio, "
            f"{full['lines_synthesized']} of {full['lines_total']} lines spoken",
            flush=True,
        )
        topic = payload["segments"][1]["lines"]
        topic[len(topic) // 2] = {**topic[len(topic) // 2], "text": EDITED}
        rerender_s, again = render(settings, payload)
        print(
            f"  re-render        {rerender_s:7.2f} s  {again['duration_s']} s of audio, "
            f"{again['lines_synthesized']} of {again['lines_total']} lines spoken",
            flush=True,
        )
    print(
        f"full_s={full_s:.1f} rerender_s={rerender_s:.1f} ratio={rerender_s / full_s:.2f} "
        f"lines_synthesized={again['lines_synthesized']} lines_total={again['lines_total']}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
