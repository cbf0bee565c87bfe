"""CPOA: workflow definitions (a DAG of agent steps) and the engine that runs them on the queue.

`HOOKS` are the engine's queue hooks: a process that runs tasks of workflows hands them to its worker.
"""

from aether.orchestrator.definitions import (
    Step,
    WorkflowDefinition,
    get_workflow,
    register_workflow,
    unregister_workflow,
)
from aether.orchestrator.engine import (
    cancel_workflow,
    get_workflow_state,
    list_workflows,
    resume_workflow,
    retry_workflow,
    start_workflow,
)
from aether.orchestrator.hooks import HOOKS

__all__ = [
    "HOOKS",
    "Step",
    "WorkflowDefinition",
    "cancel_workflow",
    "get_workflow",
    "get_workflow_state",
    "list_workflows",
    "register_workflow",
    "resume_workflow",
    "retry_workflow",
    "start_workflow",
    "unregister_workflow",
]
