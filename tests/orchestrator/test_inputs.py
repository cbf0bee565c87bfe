from __future__ import annotations

import pytest

from aether.errors import InputError
from aether.orchestrator.inputs import parse_reference, references, resolve

PARAMS = {"query": "rust", "opts": {"lang": "en", "n": 3}}
OUTPUTS = {"topic": {"title": "Rust 2.0", "tags": ["a", "b"]}, "cover": {"uri": "file:///c.png"}}


def test_literals_pass_through() -> None:
    spec = {"n": 3, "f": 1.5, "b": True, "none": None, "s": "plain", "esc": "$$params.query"}
    assert resolve(spec, PARAMS, OUTPUTS) == {**spec, "esc": "$params.query"}


def test_references_resolve_recursively() -> None:
    spec = {
        "q": "$params.query",
        "lang": "$params.opts.lang",
        "all": "$params",
        "topic": "$steps.topic",
        "parts": ["$steps.topic.title", {"img": "$steps.cover.uri"}, 7],
    }
    assert resolve(spec, PARAMS, OUTPUTS) == {
        "q": "rust",
        "lang": "en",
        "all": PARAMS,
        "topic": OUTPUTS["topic"],
        "parts": ["Rust 2.0", {"img": "file:///c.png"}, 7],
    }


def test_missing_values_are_named() -> None:
    with pytest.raises(InputError, match=r"\$params.opts.voice does not exist"):
        resolve({"v": "$params.opts.voice"}, PARAMS, OUTPUTS)
    with pytest.raises(InputError, match=r"\$steps.topic.title.x does not exist"):
        resolve({"v": "$steps.topic.title.x"}, PARAMS, OUTPUTS)
    with pytest.raises(InputError, match=r"\$steps.script has no output yet"):
        resolve({"v": "$steps.script.text"}, PARAMS, OUTPUTS)


def test_parse_and_walk() -> None:
    assert parse_reference("hello") is None
    assert parse_reference("$$x") is None
    ref = parse_reference("$steps.a.b.c")
    assert ref is not None and (ref.root, ref.step, ref.path) == ("steps", "a", ("b", "c"))
    assert str(ref) == "$steps.a.b.c"
    found = list(references({"x": ["lit", {"y": "$params.p"}]}, "inputs"))
    assert [(where, str(r)) for where, r in found] == [("inputs.x[1].y", "$params.p")]
    with pytest.raises(ValueError, match="must start with"):
        parse_reference("$other")
