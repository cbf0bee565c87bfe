"""Every task handler Aether runs, composed in one place (`TASKS`; the hooks are in aether.run.hooks).
Each package declares its own blueprint; this module names them all, so a missing module is an
ImportError at start-up and a mypy error, never a feature turned off quietly.

User plugins (`AETHER_WORKER_HANDLER_MODULES`, `aether worker --handlers`) are added by `tasks()`."""

from __future__ import annotations

from collections.abc import Iterable

from aether.agents.iga import cover
from aether.agents.music import bed
from aether.agents.pswa import write
from aether.agents.publishing import common as publishing
from aether.agents.publishing import telegram, youtube
from aether.agents.sca import snippets
from aether.agents.tda import discover, gather
from aether.agents.vfa import voice
from aether.agents.video import render
from aether.ops import tasks as maintenance
from aether.podcasts import notifications, release, schedule, studio
from aether.queue.tasks import Blueprint, load_plugins

AGENT_TASKS = Blueprint(
    discover.tasks,
    gather.tasks,
    snippets.tasks,
    write.tasks,
    cover.tasks,
    bed.tasks,
    voice.tasks,
    render.tasks,
    publishing.tasks,
    telegram.tasks,
    youtube.tasks,
)
PODCAST_TASKS = Blueprint(studio.tasks, release.tasks, schedule.tasks, notifications.tasks)
TASKS = Blueprint(AGENT_TASKS, PODCAST_TASKS, maintenance.tasks)


def tasks(plugins: Iterable[str] = ()) -> Blueprint:
    """Every task Aether runs, plus the blueprints of the named plugin modules."""
    return Blueprint(TASKS, load_plugins(plugins))
