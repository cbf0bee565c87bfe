"""CPOA: workflow definitions (a DAG of agent steps) and the engine that runs them on the queue.

Importing this package registers the engine's completion hooks with the queue.
"""

from aether.orchestrator import hooks as _hooks
from aether.orchestrator.definitions import (
    DefinitionError,
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

__all__ = [
    "DefinitionError",
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

del _hooks
