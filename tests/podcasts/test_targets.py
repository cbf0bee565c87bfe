"""Publishing targets: the shape a show's `targets` must have, with errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from aether.errors import ValidationFailed
from aether.podcasts.targets import PublishTargets, parse_targets


def test_defaults_and_the_stored_form() -> None:
    assert parse_targets(None).stored() == {"websub": True}
    assert parse_targets({}).enabled() == frozenset({"websub"})
    targets = parse_targets(
        {"telegram": {"chat_ids": ["@aether_news", "-1001234567890", 42]}, "youtube": {}, "websub": False}
    )
    assert targets.enabled() == frozenset({"telegram", "youtube"})
    assert targets.stored() == {
        "telegram": {"chat_ids": ["@aether_news", -1001234567890, 42]},
        "youtube": {"shorts": True},
        "websub": False,
    }
    assert parse_targets(targets.stored()) == targets  # what is stored reads back the same


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"telegram": {"chat_ids": []}}, "targets.telegram.chat_ids", "at least 1"),
        ({"telegram": {"chat_ids": ["news"]}}, "targets.telegram.chat_ids.0", "@channel"),
        ({"telegram": {"chat_ids": ["@ok_channel", 0]}}, "targets.telegram.chat_ids.1", "never 0"),
        ({"telegram": {"chat_ids": [True]}}, "targets.telegram.chat_ids.0", "chat id"),
        ({"telegram": {"chat_ids": ["@aether_news", "@aether_news"]}}, "targets.telegram.chat_ids", "twice"),
        ({"telegram": {}}, "targets.telegram.chat_ids", "required"),
        ({"youtube": {"privacy_status": "secret"}}, "targets.youtube.privacy_status", "public"),
        ({"youtube": {"category_id": "music"}}, "targets.youtube.category_id", "pattern"),
        ({"youtube": {"tags": ["a" * 100] * 6}}, "targets.youtube.tags", "500 characters"),
        ({"youtube": {"tags": ["<b>"]}}, "targets.youtube.tags.0", "pattern"),
        ({"youtube": {"made_for_kids": "perhaps"}}, "targets.youtube.made_for_kids", "boolean"),
        ({"websub": "yes please"}, "targets.websub", "boolean"),
        ({"mastodon": {}}, "targets.mastodon", "Extra inputs"),
        ([], "targets", "dictionary"),
    ],
)
def test_bad_targets_name_the_field(raw: Any, field: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_targets(raw)
    assert caught.value.field == field
    assert words in caught.value.message and caught.value.message.startswith(field)


def test_the_model_is_strict_about_unknown_fields() -> None:
    with pytest.raises(ValueError, match="chat_id"):
        PublishTargets.model_validate({"telegram": {"chat_ids": ["@aether_news"], "chat_id": 1}})
