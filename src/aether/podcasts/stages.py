"""What an episode's workflow is doing, in words a listener understands: the one mapping from a step to
words, used by the episode page, the progress stream (`GET /v1/episodes/{id}/progress` and its SSE
events carry `said` for the whole workflow and for each step) and the home page.

    doing("script")                                  -> "Writing the script"
    step_said({"name": "voice", "status": "in_progress"}, lines=(12, 40))
                                                     -> "Recording the voices: line 12 of 40"
    said(progress)                                   -> "Writing the script (step 3 of 7)"
                                                        "Failed while finding stories about the topic: no story ..."
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DOING: dict[str, str] = {
    "discover": "Finding stories about the topic",
    "snippets": "Reading the stories",
    "script": "Writing the script",
    "draft": "Getting the script ready for the voices",
    "cover": "Drawing the cover",
    "music": "Composing the music",
    "voice": "Recording the voices",
    "video": "Rendering the video",
    "release": "Publishing the episode",
    "telegram": "Posting it to Telegram",
    "youtube": "Uploading it to YouTube",
    "websub": "Telling podcast apps about it",
}
WAITING = frozenset({"pending", "queued"})


def doing(step: str) -> str:
    """The words for a step while it runs ("Writing the script")."""
    return DOING.get(step, f"Running the {step.replace('_', ' ')} step")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def step_said(step: Mapping[str, Any], *, lines: tuple[int, int] | None = None) -> str:
    """One step in words, with how far along it is where that is known (the voice: lines spoken)."""
    name, status = str(step.get("name")), str(step.get("status"))
    words = doing(name)
    if status == "in_progress":
        if name == "voice" and lines and lines[1] > 0:
            return f"{words}: line {min(lines[0] + 1, lines[1])} of {lines[1]}"
        return words
    if status == "completed":
        return f"{words}: done"
    if status == "skipped":
        return f"{words}: skipped"
    if status == "failed":
        error = step.get("error")
        return f"{words}: failed" + (f" ({error})" if error else "")
    if status == "cancelled":
        return f"{words}: cancelled"
    return f"{words}: waiting"


def said(progress: Mapping[str, Any], *, lines: tuple[int, int] | None = None) -> str:
    """The whole episode in one sentence: what runs now and how far along it is, or how it ended."""
    steps = list(progress.get("steps") or [])
    episode = str(progress.get("status") or "")
    error = progress.get("error") if isinstance(progress.get("error"), Mapping) else None
    if episode == "published":
        return "Published: the episode is ready to play"
    if episode == "review":
        return "The script is written and waits for your review"
    if error is not None or episode == "failed":
        step = str(error.get("step") or "") if error else ""
        message = str(error.get("message") or "") if error else ""
        where = f"Failed while {_lower_first(doing(step))}" if step else "Failed"
        return f"{where}: {message}" if message else where
    if not steps:
        return "Waiting to start"
    total = len(steps)
    done = sum(1 for s in steps if s.get("status") in ("completed", "skipped"))
    running = [s for s in steps if s.get("status") == "in_progress"]
    if running:
        now = "; ".join(step_said(s, lines=lines) for s in running)
        return f"{now} (step {min(done + 1, total)} of {total})"
    if done == total:
        return "Finishing: publishing the episode"
    queued = [s for s in steps if s.get("status") == "queued"]
    if queued:
        next_step = _lower_first(doing(str(queued[0].get("name"))))
        return f"Waiting for a worker: {next_step} is next ({done} of {total} steps done)"
    return f"Waiting ({done} of {total} steps done)"
