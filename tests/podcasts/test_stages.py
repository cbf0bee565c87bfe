"""An episode's progress in words (aether.podcasts.stages): each step, how far the voice is, and how the
episode ended, the way the page and the progress stream say it."""

from __future__ import annotations

from typing import Any

from aether.db import Database
from aether.podcasts import episodes
from aether.podcasts.models import EpisodeIn
from aether.podcasts.stages import DOING, doing, said, step_said
from aether.podcasts.workflow import DEFINITION
from tests.podcasts.conftest import make_show

STEPS = ("discover", "snippets", "script", "cover", "music", "voice", "video")


def _steps(**status: str) -> list[dict[str, Any]]:
    return [{"name": name, "status": status.get(name, "pending")} for name in STEPS]


def test_every_step_of_the_episode_workflow_has_words() -> None:
    for step in DEFINITION.steps:
        assert step.name in DOING, step.name
    for platform in ("draft", "release", "telegram", "youtube", "websub"):
        assert platform in DOING
    assert doing("script") == "Writing the script"
    assert doing("mystery_step") == "Running the mystery step step"


def test_what_runs_now_and_how_far_along() -> None:
    steps = _steps(
        discover="completed", snippets="completed", cover="completed", music="completed", script="in_progress"
    )
    assert said({"status": "processing", "steps": steps}) == "Writing the script (step 5 of 7)"
    steps = _steps(
        discover="completed", snippets="completed", cover="completed", music="completed", script="completed",
        voice="in_progress",
    )  # fmt: skip
    progress = {"status": "processing", "steps": steps}
    assert said(progress, lines=(11, 40)) == "Recording the voices: line 12 of 40 (step 6 of 7)"
    assert said(progress) == "Recording the voices (step 6 of 7)"  # the render does not count its lines
    two = _steps(discover="in_progress", cover="in_progress")
    assert said({"status": "processing", "steps": two}) == (
        "Finding stories about the topic; Drawing the cover (step 1 of 7)"
    )
    queued = _steps(discover="queued")
    assert said({"status": "processing", "steps": queued}) == (
        "Waiting for a worker: finding stories about the topic is next (0 of 7 steps done)"
    )
    assert said({"status": "processing", "steps": []}) == "Waiting to start"
    assert "in_progress" not in said(progress) and "vfa" not in said(progress)


def test_how_it_ended() -> None:
    error = {
        "step": "discover",
        "code": "no_material",
        "message": "no story in this show's 2 sources matches 'lattice QCD'",
    }
    failed = {"status": "failed", "steps": _steps(discover="failed"), "error": error}
    assert said(failed) == (
        "Failed while finding stories about the topic: no story in this show's 2 sources matches 'lattice QCD'"
    )
    assert said({"status": "failed", "steps": [], "error": None}) == "Failed"
    assert said({"status": "published", "steps": _steps()}) == "Published: the episode is ready to play"
    assert said({"status": "review", "steps": _steps()}) == "The script is written and waits for your review"


def test_each_step_in_words() -> None:
    assert (
        step_said({"name": "voice", "status": "in_progress"}, lines=(39, 40)) == "Recording the voices: line 40 of 40"
    )
    assert step_said({"name": "voice", "status": "in_progress"}, lines=(0, 0)) == "Recording the voices"
    assert step_said({"name": "video", "status": "skipped"}) == "Rendering the video: skipped"
    assert step_said({"name": "script", "status": "completed"}) == "Writing the script: done"
    assert step_said({"name": "discover", "status": "failed", "error": "nothing fits"}) == (
        "Finding stories about the topic: failed (nothing fits)"
    )
    assert step_said({"name": "cover", "status": "queued"}) == "Drawing the cover: waiting"


async def test_the_progress_of_a_real_workflow_in_words(db: Database) -> None:
    show = await make_show(db)
    async with db.transaction() as conn:
        body = EpisodeIn(topic="Mason bees and pollinator hotels")
        episode = await episodes.start_episode(conn, show["user_id"], {}, show["id"], body)
    async with db.connection() as conn:
        state = await episodes.progress(conn, episode)
    total = len(state["steps"])
    assert state["said"] == f"Waiting for a worker: finding stories about the topic is next (0 of {total} steps done)"
    assert [s["said"] for s in state["steps"]][:2] == [
        "Finding stories about the topic: waiting",
        "Reading the stories: waiting",
    ]

    steps = {r["step_name"]: r for r in await db.fetch_all(
        "SELECT step_name, task_id FROM task_instances WHERE workflow_id = %s", (episode["workflow_id"],)
    )}  # fmt: skip
    await db.execute("UPDATE tasks SET status = 'in_progress' WHERE id = %s", (steps["discover"]["task_id"],))
    async with db.connection() as conn:
        said_now = (await episodes.progress(conn, episode))["said"]
    assert said_now == f"Finding stories about the topic (step 1 of {total})"

    # the voice step runs (every step it waits for is done) and its render counts the lines it has spoken
    await db.execute(
        "UPDATE task_instances SET status = 'completed' WHERE workflow_id = %s"
        " AND step_name NOT IN ('voice', 'video', 'release')",
        (episode["workflow_id"],),
    )
    voice = await db.fetch_one(
        "INSERT INTO tasks (task_type, agent_name, status) VALUES ('vfa.synthesize', 'vfa', 'in_progress') RETURNING id"
    )
    assert voice is not None
    await db.execute(
        "UPDATE task_instances SET status = 'queued', task_id = %s WHERE workflow_id = %s AND step_name = 'voice'",
        (voice["id"], episode["workflow_id"]),
    )
    done = sum(1 for name in steps if name not in ("voice", "video", "release"))
    async with db.connection() as conn:
        said_now = (await episodes.progress(conn, episode))["said"]
    assert said_now == f"Recording the voices (step {done + 1} of {total})"
    await db.execute(
        "INSERT INTO episode_renders (episode_id, version, script_version, workflow_id, lines_total, lines_synthesized)"
        " VALUES (%s, 1, 1, %s, 40, 11)",
        (episode["id"], episode["workflow_id"]),
    )
    async with db.connection() as conn:
        state = await episodes.progress(conn, episode)
    assert state["said"] == f"Recording the voices: line 12 of 40 (step {done + 1} of {total})"
    assert next(s for s in state["steps"] if s["name"] == "voice")["said"] == "Recording the voices: line 12 of 40"
