"""`aether demo` as a user runs it: a whole episode offline from the bundled samples; a second run
reuses every step's work and stores no new objects or asset rows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from aether.db import Database
from tests.support import run_aether


def _objects(home: Path) -> list[Path]:
    return sorted(p for p in (home / "objects").rglob("*") if p.is_file())


@pytest.mark.slow
async def test_demo_makes_a_whole_episode_and_a_second_run_adds_nothing(
    cli_env: dict[str, str], aether_home: Path, db: Database
) -> None:
    # the demo reads the bundled samples: it needs no private address, so the guard's default stays on
    env = {k: v for k, v in cli_env.items() if k != "AETHER_FETCH_ALLOW_PRIVATE"} | {"AETHER_WORKER_CPU_POOL": "thread"}
    first = run_aether(["demo", "--json", "--minutes", "1"], env, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    report = json.loads(first.stdout.strip().splitlines()[-1])
    assert report["status"] == "completed" and report["workflow_id"]
    by_role = {a["role"]: a for a in report["assets"]}
    assert {"cover", "audio", "opus", "transcript", "chapters", "video", "clip", "music_bed"} <= set(by_role)
    assert {a["type"] for a in report["assets"]} == {"image", "audio", "transcript", "chapters", "video"}
    for asset in report["assets"]:
        path = Path(unquote(urlsplit(asset["uri"]).path))
        assert path.is_file() and path.stat().st_size > 0
    transcript = Path(unquote(urlsplit(by_role["transcript"]["uri"]).path)).read_text()
    assert "<v Alex>" in transcript and "<v Sam>" in transcript
    steps = await db.fetch_all(
        "SELECT step_name, status FROM task_instances WHERE workflow_id = %s", (report["workflow_id"],)
    )
    assert {s["step_name"]: s["status"] for s in steps} == dict.fromkeys(
        ["discover", "snippets", "script", "draft", "cover", "music", "voice", "video", "release"], "completed"
    )

    rows = await db.fetch_one("SELECT count(*) AS n FROM assets")
    objects = _objects(aether_home)
    second = run_aether(["demo", "--json", "--minutes", "1"], env, timeout=900)
    assert second.returncode == 0, second.stderr[-3000:]
    again = json.loads(second.stdout.strip().splitlines()[-1])
    assert again["workflow_id"] != report["workflow_id"]
    assert {a["uri"] for a in again["assets"]} == {a["uri"] for a in report["assets"]}
    assert await db.fetch_one("SELECT count(*) AS n FROM assets") == rows
    assert _objects(aether_home) == objects


@pytest.mark.slow
def test_no_video_lists_the_video_step_as_skipped(cli_env: dict[str, str]) -> None:
    env = cli_env | {"AETHER_WORKER_CPU_POOL": "thread", "COLUMNS": "100"}
    result = run_aether(["demo", "--no-video", "--minutes", "1"], env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    # the progress table's last frame (stderr): the video step did no work, and says so
    last_frame = result.stderr[result.stderr.rindex("podcast_episode") :]
    statuses = dict(re.findall(r"│\s*(\w+)\s*│\s*\w+\s*│\s*(\w+)\s*│", last_frame))
    assert statuses["video"] == "skipped", last_frame
    assert statuses["voice"] == "completed", last_frame
    assets = result.stdout.split("Episode ready", 1)[1].splitlines()[1:]
    assert assets and not [line for line in assets if line.split()[0] == "video"], assets  # no video asset
