"""Step inputs: literals and references to the workflow's parameters or earlier steps' outputs.

A string value that starts with `$` is a reference:

* `$params` (all parameters) or `$params.a.b` (a key, dotted for nested dicts);
* `$steps.<step>` (that step's whole output) or `$steps.<step>.key.sub`.

`$$...` is the literal string `$...`. Dicts and lists are resolved recursively; every other value is a
literal. References are checked when a definition is registered (`references`) and resolved when a step
is enqueued (`resolve`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aether.errors import InputError


@dataclass(frozen=True)
class Reference:
    root: str  # "params" or "steps"
    step: str | None  # the step named by a $steps reference
    path: tuple[str, ...]  # keys below the root (or below the step's output)

    def __str__(self) -> str:
        parts = ["$" + self.root, *([self.step] if self.step else []), *self.path]
        return ".".join(parts)


def parse_reference(text: str) -> Reference | None:
    """The reference `text` names, None for a literal; ValueError for a malformed reference."""
    if not text.startswith("$") or text.startswith("$$"):
        return None
    parts = text[1:].split(".")
    if any(not part for part in parts):
        raise ValueError(f"{text!r} has an empty name between dots")
    root, rest = parts[0], parts[1:]
    if root == "params":
        return Reference("params", None, tuple(rest))
    if root == "steps":
        if not rest:
            raise ValueError(f"{text!r} must name a step: $steps.<step> or $steps.<step>.<key>")
        return Reference("steps", rest[0], tuple(rest[1:]))
    raise ValueError(f"{text!r} must start with $params or $steps (write $$ for a literal '$')")


def references(value: Any, where: str) -> Iterator[tuple[str, Reference]]:
    """Every reference inside `value`, with the input path it sits at (e.g. `inputs.cover.url`)."""
    if isinstance(value, str):
        ref = parse_reference(value)
        if ref is not None:
            yield where, ref
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from references(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from references(item, f"{where}[{index}]")


def _walk(value: Any, path: tuple[str, ...], label: str) -> Any:
    for depth, key in enumerate(path):
        if not isinstance(value, Mapping) or key not in value:
            at = ".".join([label, *path[: depth + 1]])
            raise InputError(f"{at} does not exist")
        value = value[key]
    return value


def resolve(value: Any, params: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
    """`value` with every reference replaced by what it names; InputError when something is missing."""
    if isinstance(value, str):
        if value.startswith("$$"):
            return value[1:]
        ref = parse_reference(value)
        if ref is None:
            return value
        if ref.root == "params":
            return _walk(params, ref.path, "$params")
        assert ref.step is not None
        if ref.step not in outputs:
            raise InputError(f"$steps.{ref.step} has no output yet")
        return _walk(outputs[ref.step], ref.path, f"$steps.{ref.step}")
    if isinstance(value, Mapping):
        return {str(key): resolve(item, params, outputs) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(item, params, outputs) for item in value]
    return value
