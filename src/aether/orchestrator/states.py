"""The two state machines of the engine: a workflow and each of its steps.

Every status change the engine makes is one of these transitions, done by a conditional UPDATE
(`... WHERE status IN (allowed sources)`) under the workflow's row lock, so two hooks racing on one
workflow can never both make the same move (e.g. both enqueue a fan-in step).

Workflow::

    running --all steps completed--> completed
    running --a step failed for good--> failed --retry--> running
    running | failed --cancel--> cancelled --retry--> running

Step::

    pending --all dependencies completed--> queued (its task is enqueued in the same transaction)
    queued --task completed--> completed
    queued --task failed for good--> failed --retry--> pending
    pending | queued --workflow cancelled--> cancelled --retry--> pending
    cancelled | failed --its task finished anyway--> completed (a cancelled handler that finished, or a
        task re-run with `aether tasks retry`: the output is kept and workflow retry will not redo it)

`in_progress` is never stored by the engine: a queued step whose task a worker holds is shown as
in_progress (the queue's own row says so), which costs no extra write per step.
"""

from __future__ import annotations

from typing import Final

WORKFLOW_STATUSES: Final = ("pending", "running", "completed", "failed", "cancelled")
STEP_STATUSES: Final = ("pending", "queued", "in_progress", "completed", "failed", "cancelled", "skipped")

WORKFLOW_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "pending": frozenset({"running", "cancelled"}),
    "running": frozenset({"completed", "failed", "cancelled"}),
    "failed": frozenset({"running", "cancelled"}),
    "cancelled": frozenset({"running"}),
    "completed": frozenset(),
}

STEP_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "pending": frozenset({"queued", "cancelled", "skipped"}),
    "queued": frozenset({"in_progress", "completed", "failed", "cancelled"}),
    "in_progress": frozenset({"completed", "failed", "cancelled"}),
    "failed": frozenset({"pending", "completed"}),
    "cancelled": frozenset({"pending", "completed"}),
    "completed": frozenset(),
    "skipped": frozenset(),
}

WORKFLOW_TERMINAL: Final = frozenset({"completed", "failed", "cancelled"})
STEP_LIVE: Final = frozenset({"queued", "in_progress"})


def workflow_move_allowed(old: str, new: str) -> bool:
    return old == new or new in WORKFLOW_TRANSITIONS[old]


def step_move_allowed(old: str, new: str) -> bool:
    return old == new or new in STEP_TRANSITIONS[old]


def retryable(workflow_status: str) -> bool:
    return "running" in WORKFLOW_TRANSITIONS[workflow_status] and workflow_status != "pending"


def cancellable(workflow_status: str) -> bool:
    return "cancelled" in WORKFLOW_TRANSITIONS[workflow_status]
