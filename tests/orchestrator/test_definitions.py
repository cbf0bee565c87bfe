from __future__ import annotations

import pytest

from aether.errors import Conflict, DefinitionError, NotFound
from aether.orchestrator.definitions import (
    Step,
    WorkflowDefinition,
    get_workflow,
    register_workflow,
    unregister_workflow,
)


def podcast(version: int = 1) -> WorkflowDefinition:
    return WorkflowDefinition(
        "t_defs_podcast",
        version,
        steps=[
            Step("topic", "tda.discover", "tda", inputs={"query": "$params.query"}),
            Step("script", "pswa.write", "pswa", after=["topic"], inputs={"topic": "$steps.topic"}),
            Step("cover", "iga.draw", "iga", after=["topic"], inputs={"title": "$steps.topic.title"}),
            Step(
                "voice",
                "vfa.speak",
                "vfa",
                after=["script", "cover"],
                inputs={"text": "$steps.script.text", "art": ["$steps.cover.uri", "$steps.topic.title"]},
            ),
        ],
    )


def test_a_valid_dag_has_roots_and_a_dependency_order() -> None:
    defn = podcast()
    assert defn.roots == ["topic"]
    assert defn.order == ["topic", "script", "cover", "voice"]
    assert defn.ancestors("voice") == {"topic", "script", "cover"}
    assert list(defn.param_references().values()) == [("query",)]


def test_unknown_dependency_is_named() -> None:
    with pytest.raises(DefinitionError, match="depends on unknown step 'scirpt'") as err:
        WorkflowDefinition("w", 1, steps=[Step("a", "x.y", "x"), Step("b", "x.y", "x", after=["scirpt"])])
    assert err.value.field == "steps[1].after"


def test_a_cycle_is_named_with_its_path() -> None:
    with pytest.raises(DefinitionError, match=r"dependency cycle: (a -> c -> b -> a|b -> a -> c -> b)"):
        WorkflowDefinition(
            "w",
            1,
            steps=[
                Step("a", "x.y", "x", after=["c"]),
                Step("b", "x.y", "x", after=["a"]),
                Step("c", "x.y", "x", after=["b"]),
            ],
        )


def test_self_dependency() -> None:
    with pytest.raises(DefinitionError, match="depends on itself"):
        WorkflowDefinition("w", 1, steps=[Step("a", "x.y", "x", after=["a"])])


def test_duplicate_step() -> None:
    with pytest.raises(DefinitionError, match=r"step 'a' is defined twice \(steps\[0\] and steps\[1\]\)") as err:
        WorkflowDefinition("w", 1, steps=[Step("a", "x.y", "x"), Step("a", "x.z", "x")])
    assert err.value.field == "steps[1].name"


@pytest.mark.parametrize(
    ("inputs", "message", "field"),
    [
        ({"t": "$steps.nope.title"}, "references unknown step 'nope'", "steps[1].inputs.t"),
        ({"t": "$steps.c"}, "references step 'c', which is not among its dependencies", "steps[1].inputs.t"),
        ({"t": {"deep": ["$env.HOME"]}}, "must start with \\$params or \\$steps", "steps[1].inputs"),
        ({"t": "$steps"}, "must name a step", "steps[1].inputs"),
        ({"t": "$params..x"}, "empty name between dots", "steps[1].inputs"),
    ],
)
def test_bad_input_references(inputs: dict[str, object], message: str, field: str) -> None:
    with pytest.raises(DefinitionError, match=message) as err:
        WorkflowDefinition(
            "w",
            1,
            steps=[Step("a", "x.y", "x"), Step("b", "x.y", "x", after=["a"], inputs=inputs), Step("c", "x.y", "x")],
        )
    assert err.value.field == field


def test_a_transitive_dependency_may_be_referenced() -> None:
    WorkflowDefinition(
        "w",
        1,
        steps=[
            Step("a", "x.y", "x"),
            Step("b", "x.y", "x", after=["a"]),
            Step("c", "x.y", "x", after=["b"], inputs={"from_a": "$steps.a.k", "lit": "$$5"}),
        ],
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "bad name"}, "steps[0].name"),
        ({"task_type": ""}, "steps[0].task_type"),
        ({"agent": ""}, "steps[0].agent"),
        ({"max_attempts": 0}, "steps[0].max_attempts"),
        ({"inputs": {"f": object()}}, "steps[0].inputs"),
    ],
)
def test_bad_step_fields(kwargs: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"name": "a", "task_type": "x.y", "agent": "x", **kwargs}
    with pytest.raises(DefinitionError) as err:
        WorkflowDefinition("w", 1, steps=[Step(**values)])  # type: ignore[arg-type]
    assert err.value.field == field


def test_bad_workflow_fields() -> None:
    with pytest.raises(DefinitionError) as err:
        WorkflowDefinition("w", 0, steps=[Step("a", "x.y", "x")])
    assert err.value.field == "version"
    with pytest.raises(DefinitionError) as err:
        WorkflowDefinition("w", 1, steps=[])
    assert err.value.field == "steps"


def test_registry_versions() -> None:
    try:
        register_workflow(podcast(1))
        register_workflow(podcast(1))  # the same definition again is fine
        register_workflow(podcast(2))
        assert get_workflow("t_defs_podcast").version == 2
        assert get_workflow("t_defs_podcast", 1).version == 1
        other = WorkflowDefinition("t_defs_podcast", 2, steps=[Step("only", "x.y", "x")])
        with pytest.raises(Conflict, match="bump the version"):
            register_workflow(other)
        with pytest.raises(NotFound, match="has no version 7"):
            get_workflow("t_defs_podcast", 7)
        with pytest.raises(NotFound, match="no workflow named 'nope'"):
            get_workflow("nope")
    finally:
        unregister_workflow("t_defs_podcast")
