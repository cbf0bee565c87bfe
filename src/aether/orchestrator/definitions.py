"""Workflow definitions: a named, versioned DAG of steps, checked whole when it is built.

    WorkflowDefinition("podcast", 1, steps=[
        Step("topic", "tda.discover", "tda", inputs={"query": "$params.query"}),
        Step("script", "pswa.write", "pswa", after=["topic"], inputs={"topic": "$steps.topic"}),
        Step("cover", "iga.draw", "iga", after=["topic"], inputs={"title": "$steps.topic.title"}),
        Step("voice", "vfa.speak", "vfa", after=["script", "cover"], inputs={...}),
    ])

A bad definition (unknown dependency, cycle, duplicate step, bad input reference) raises
ValidationFailed naming the field. `register_workflow` makes a definition startable by name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aether.errors import Conflict, DefinitionError, NotFound
from aether.orchestrator.inputs import references

_STEP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,99}$")
_WORKFLOW_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Step:
    """One step: a task of `task_type` run by `agent`, after the steps in `after`, with `inputs` as payload."""

    name: str
    task_type: str
    agent: str
    after: tuple[str, ...] | list[str] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict)
    priority: int = 1
    max_attempts: int = 5

    def __post_init__(self) -> None:
        object.__setattr__(self, "after", tuple(self.after))
        object.__setattr__(self, "inputs", dict(self.inputs))

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(self.after)


@dataclass(frozen=True)
class WorkflowDefinition:
    name: str
    version: int
    steps: tuple[Step, ...] | list[Step]
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        _validate(self)

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise NotFound(f"workflow {self.name!r} has no step {name!r}", field="step")

    @property
    def order(self) -> list[str]:
        """Step names in a dependency order (definition order among independent steps)."""
        return topological_order(self.steps)

    @property
    def roots(self) -> list[str]:
        return [s.name for s in self.steps if not s.after]

    def param_references(self) -> dict[str, tuple[str, ...]]:
        """Each `$params` path the definition reads, with the first input that reads it (for errors)."""
        found: dict[str, tuple[str, ...]] = {}
        for index, step in enumerate(self.steps):
            for where, ref in references(step.inputs, f"steps[{index}].inputs"):
                if ref.root == "params" and ref.path:
                    found.setdefault(where, ref.path)
        return found

    def ancestors(self, name: str) -> set[str]:
        by_name = {s.name: s for s in self.steps}
        seen: set[str] = set()
        stack = list(by_name[name].after)
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(by_name[current].after)
        return seen


def topological_order(steps: Iterable[Step]) -> list[str]:
    steps = list(steps)
    done: set[str] = set()
    order: list[str] = []
    while len(order) < len(steps):
        ready = [s.name for s in steps if s.name not in done and all(d in done for d in s.after)]
        if not ready:
            raise DefinitionError("the steps contain a dependency cycle", field="steps")
        for name in ready:
            done.add(name)
            order.append(name)
    return order


def _find_cycle(steps: Iterable[Step]) -> list[str] | None:
    graph = {s.name: list(s.after) for s in steps}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in graph[node]:
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for name in graph:
        if name not in state:
            cycle = visit(name)
            if cycle:
                return cycle
    return None


def _check_text(value: object, pattern: re.Pattern[str], what: str, fieldname: str, max_len: int) -> None:
    if not isinstance(value, str) or not value:
        raise DefinitionError(f"{what} must be a non-empty string", field=fieldname)
    if len(value) > max_len:
        raise DefinitionError(f"{what} {value!r} is longer than {max_len} characters", field=fieldname)
    if not pattern.match(value):
        raise DefinitionError(
            f"{what} {value!r} may hold only letters, digits, '_' and '-' and must start with a letter or '_'",
            field=fieldname,
        )


def _validate(defn: WorkflowDefinition) -> None:
    _check_text(defn.name, _WORKFLOW_NAME, "workflow name", "name", 100)
    if isinstance(defn.version, bool) or not isinstance(defn.version, int) or defn.version < 1:
        raise DefinitionError(f"version must be a positive integer (got {defn.version!r})", field="version")
    if not defn.steps:
        raise DefinitionError("a workflow needs at least one step", field="steps")
    seen: dict[str, int] = {}
    for index, step in enumerate(defn.steps):
        where = f"steps[{index}]"
        if not isinstance(step, Step):
            raise DefinitionError(f"{where} must be a Step (got {type(step).__name__})", field=where)
        _check_text(step.name, _STEP_NAME, "step name", f"{where}.name", 100)
        if step.name in seen:
            raise DefinitionError(
                f"step {step.name!r} is defined twice (steps[{seen[step.name]}] and {where})", field=f"{where}.name"
            )
        seen[step.name] = index
        if not isinstance(step.task_type, str) or not step.task_type or len(step.task_type) > 50:
            raise DefinitionError(
                f"step {step.name!r}: task_type must be a string of 1 to 50 characters", field=f"{where}.task_type"
            )
        if not isinstance(step.agent, str) or not step.agent or len(step.agent) > 100:
            raise DefinitionError(
                f"step {step.name!r}: agent must be a string of 1 to 100 characters", field=f"{where}.agent"
            )
        if isinstance(step.priority, bool) or not isinstance(step.priority, int):
            raise DefinitionError(f"step {step.name!r}: priority must be an integer", field=f"{where}.priority")
        if isinstance(step.max_attempts, bool) or not isinstance(step.max_attempts, int) or step.max_attempts < 1:
            raise DefinitionError(
                f"step {step.name!r}: max_attempts must be an integer of at least 1", field=f"{where}.max_attempts"
            )
        if len(set(step.after)) != len(step.after):
            raise DefinitionError(f"step {step.name!r} lists a dependency twice", field=f"{where}.after")
        try:
            json.dumps(step.inputs)
        except (TypeError, ValueError) as exc:
            raise DefinitionError(
                f"step {step.name!r}: inputs must be JSON values ({exc})", field=f"{where}.inputs"
            ) from None
    for index, step in enumerate(defn.steps):
        for dep in step.after:
            if dep == step.name:
                raise DefinitionError(f"step {step.name!r} depends on itself", field=f"steps[{index}].after")
            if dep not in seen:
                raise DefinitionError(
                    f"step {step.name!r} depends on unknown step {dep!r}", field=f"steps[{index}].after"
                )
    cycle = _find_cycle(defn.steps)
    if cycle:
        first = seen[cycle[0]]
        raise DefinitionError(f"dependency cycle: {' -> '.join(cycle)}", field=f"steps[{first}].after")
    for index, step in enumerate(defn.steps):
        _check_inputs(defn, index, step)


def _check_inputs(defn: WorkflowDefinition, index: int, step: Step) -> None:
    where = f"steps[{index}].inputs"
    try:
        refs = list(references(step.inputs, where))
    except ValueError as exc:
        raise DefinitionError(f"step {step.name!r}: bad input reference: {exc}", field=where) from None
    if not refs:
        return
    ancestors = defn.ancestors(step.name)
    for at, ref in refs:
        if ref.root != "steps":
            continue
        if ref.step not in {s.name for s in defn.steps}:
            raise DefinitionError(f"step {step.name!r}: input {at} references unknown step {ref.step!r}", field=at)
        if ref.step not in ancestors:
            raise DefinitionError(
                f"step {step.name!r}: input {at} references step {ref.step!r}, which is not among its "
                f"dependencies (add it to `after`)",
                field=at,
            )


# ---- the registry -------------------------------------------------------------------------------

WORKFLOWS: dict[str, dict[int, WorkflowDefinition]] = {}


def register_workflow(defn: WorkflowDefinition) -> WorkflowDefinition:
    """Make `defn` startable by name; registering the same name and version twice must be identical."""
    if not isinstance(defn, WorkflowDefinition):
        raise DefinitionError(f"expected a WorkflowDefinition (got {type(defn).__name__})", field="definition")
    versions = WORKFLOWS.setdefault(defn.name, {})
    existing = versions.get(defn.version)
    if existing is not None and existing != defn:
        raise Conflict(
            f"workflow {defn.name!r} version {defn.version} is already registered with other steps; bump the version",
            field="version",
        )
    versions[defn.version] = defn
    return defn


def get_workflow(name: str, version: int | None = None) -> WorkflowDefinition:
    versions = WORKFLOWS.get(name)
    if not versions:
        known = ", ".join(sorted(WORKFLOWS)) or "none"
        raise NotFound(f"no workflow named {name!r} is registered (known: {known})", field="name")
    if version is None:
        return versions[max(versions)]
    if version not in versions:
        raise NotFound(f"workflow {name!r} has no version {version} (registered: {sorted(versions)})", field="version")
    return versions[version]


def unregister_workflow(name: str, version: int | None = None) -> None:
    """Remove a definition (tests, plugins being reloaded)."""
    if version is None:
        WORKFLOWS.pop(name, None)
    else:
        WORKFLOWS.get(name, {}).pop(version, None)
