"""The script the media agents read: PSWA's JSON validated, errors naming the field."""

from __future__ import annotations

import copy

import pytest

from aether.errors import ValidationFailed
from aether.media.script import parse_script
from tests.media.scripts import short_script


def test_parses_pswa_output_and_ignores_extra_fields() -> None:
    data = short_script()
    script = parse_script({"script": data, "cache_hit": True})  # PSWA's whole task result works too
    assert script.episode_title == "Small models, big changes"
    assert [h.name for h in script.hosts] == ["Alex", "Sam"]
    assert [s.kind for s in script.segments] == ["intro", "topic", "outro"]
    assert len(script.lines) == 5 and script.lines[2][0] == 1
    assert script.source_urls == ("https://example.org/a",)
    assert script.fingerprint() == parse_script(copy.deepcopy(data)).fingerprint()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("episode_title"), "script.episode_title"),
        (lambda d: d.update(hosts=[]), "script.hosts"),
        (lambda d: d["segments"][1].update(kind="ad"), "script.segments[1].kind"),
        (lambda d: d["segments"][1]["lines"][0].update(speaker="Zoe"), "script.segments[1].lines[0].speaker"),
        (lambda d: d["segments"][0]["lines"][1].update(text="   "), "script.segments[0].lines[1].text"),
        (lambda d: d["segments"][2].update(lines=[]), "script.segments[2].lines"),
        (lambda d: d["hosts"].append({"name": "Alex"}), "script.hosts[2].name"),
        (lambda d: d.update(language=7), "script.language"),
    ],
)
def test_bad_scripts_name_the_field(mutate: object, field: str) -> None:
    data = short_script()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(ValidationFailed) as info:
        parse_script(data)
    assert info.value.field == field
    assert field.split(".")[-1].split("[")[0] in str(info.value)


def test_not_an_object() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_script(["nope"])
    assert info.value.field == "script"
