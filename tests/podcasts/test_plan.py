"""The definition an episode starts with: the podcast_episode steps plus release and platform steps for
the show's targets, and snippets from picked topics for a scheduled episode."""

from __future__ import annotations

from typing import Any

import pytest

from aether.config import Settings
from aether.orchestrator import get_workflow
from aether.podcasts import workflow as podcast
from aether.podcasts.plan import PAYLOAD_KEYS, build_definition, definition_name, prepare_start


def steps_of(name: str) -> dict[str, Any]:
    return {s.name: s for s in get_workflow(name).steps}


def test_no_targets_and_no_picked_topics_is_the_plain_workflow(settings: Settings) -> None:
    params: dict[str, Any] = {"video": False}
    assert prepare_start({"targets": {}}, params, settings=settings) == podcast.NAME
    assert params == {"video": False}  # websub needs a hub: none is configured here
    assert build_definition([], picked_topics=False) is podcast.DEFINITION


def test_each_target_adds_its_step_after_the_release(settings: Settings) -> None:
    hub = settings.model_copy(update={"websub_hub_url": "https://hub.example/"})
    params: dict[str, Any] = {"video": False}
    show = {"targets": {"telegram": {"chat_ids": ["@aether_news"]}, "youtube": {"privacy_status": "public"}}}
    name = prepare_start(show, params, settings=hub)
    assert name == "podcast_episode.telegram.websub.youtube"
    assert params["video"] is True and params["publish"]["youtube"]["privacy_status"] == "public"
    steps = steps_of(name)
    assert set(steps) == {s.name for s in podcast.DEFINITION.steps} | {"release", "telegram", "youtube", "websub"}
    assert set(steps["release"].after) == {"voice", "video", "cover"}
    assert steps["release"].inputs["platforms"] == ["telegram", "websub", "youtube"]
    for platform, task_type in (("telegram", "telegram.publish"), ("youtube", "youtube.publish"),
                                ("websub", "publish.websub")):  # fmt: skip
        assert steps[platform].task_type == task_type and steps[platform].after == ("release",)
        assert set(steps[platform].inputs) == set(PAYLOAD_KEYS[platform])

    only_telegram = prepare_start({"targets": {"telegram": {"chat_ids": [1]}, "websub": False}}, {}, settings=hub)
    assert only_telegram == "podcast_episode.telegram"
    assert "youtube" not in steps_of(only_telegram) and "websub" not in steps_of(only_telegram)


def test_picked_topics_feed_the_snippets_step(settings: Settings) -> None:
    params: dict[str, Any] = {}
    name = prepare_start({"targets": {}}, params, settings=settings, topic_ids=["t-1", "t-2"])
    assert name == "podcast_episode.topics" and params["topic_ids"] == ["t-1", "t-2"]
    steps = steps_of(name)
    assert "discover" not in steps
    assert steps["snippets"].after == () and steps["snippets"].inputs == {"topic_ids": "$params.topic_ids"}


def test_names_and_unknown_platforms() -> None:
    assert definition_name(["youtube", "telegram"], picked_topics=True) == "podcast_episode.topics.telegram.youtube"
    with pytest.raises(ValueError, match="mastodon"):
        build_definition(["mastodon"], picked_topics=False)
