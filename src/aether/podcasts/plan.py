"""The definition one episode starts with: `podcast_episode` plus what this episode of this show needs.

The workflow engine has no conditional steps, but it copies a definition's steps into the workflow's
own rows when the workflow starts and never reads the registered definition again. So the step list is
chosen at start, from the show's publishing targets and from how the topics were chosen:

* publishing targets (see `aether.podcasts.targets`): a `release` step (task `publish.release`) runs
  once the audio, cover and video exist; it marks the episode published (the feed shows it) and hands
  each platform its payload. Then `telegram` (telegram.publish), `youtube` (youtube.publish) and
  `websub` (publish.websub) run, each only when the show has that target (websub also only when a hub
  is configured). A platform step exists only when it has work, so a show without YouTube never waits
  on a youtube worker or on an agent in `error`.
* topics picked in advance (a scheduled episode, `params.topic_ids`): the snippets step reads those
  topics and the `discover` step is left out (the scheduler has just read the show's feeds).

Each distinct step list is a definition of its own, registered under a name that says what it adds:
`podcast_episode` (nothing added), `podcast_episode.telegram.websub`, `podcast_episode.topics.youtube`
and so on, all at the base definition's version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from aether.config import Settings
from aether.orchestrator import Step, WorkflowDefinition, register_workflow
from aether.podcasts import workflow as podcast
from aether.podcasts.targets import PublishTargets, parse_targets

TOPICS = "topics"
RELEASE_STEP = "release"
RELEASE_TASK = "publish.release"
RELEASE_AGENT = "publish"

# The keys of each platform's task payload (see aether.agents.publishing.telegram / youtube / publish); the release
# step's output holds every one of them for each platform it prepares.
PAYLOAD_KEYS: dict[str, tuple[str, ...]] = {
    "telegram": (
        "chat_ids", "title", "performer", "description", "audio", "cover", "duration_seconds", "page_url",
        "feed_url", "show_id", "episode_id",
    ),
    "youtube": (
        "video", "short", "cover", "title", "description", "chapters", "tags", "category_id", "privacy_status",
        "made_for_kids", "language", "page_url", "feed_url", "show_id", "episode_id",
    ),
    "websub": ("feed_url", "show_id"),
}  # fmt: skip
PLATFORM_STEPS: dict[str, tuple[str, str]] = {
    "telegram": ("telegram.publish", "telegram"),
    "youtube": ("youtube.publish", "youtube"),
    "websub": ("publish.websub", "publish"),
}


def platforms_for(targets: PublishTargets, settings: Settings | None) -> frozenset[str]:
    """The platform steps an episode of a show with `targets` gets (websub needs a configured hub)."""
    chosen = set(targets.enabled())
    if settings is None or not settings.websub_hub_url:
        chosen.discard("websub")
    return frozenset(chosen)


def definition_name(platforms: Iterable[str], *, picked_topics: bool) -> str:
    parts = [TOPICS] if picked_topics else []
    parts += sorted(set(platforms))
    return ".".join([podcast.NAME, *parts])


def build_definition(platforms: Iterable[str], *, picked_topics: bool) -> WorkflowDefinition:
    """The base `podcast_episode` definition with the release and platform steps and/or picked topics."""
    chosen = frozenset(platforms)
    unknown = chosen - set(PLATFORM_STEPS)
    if unknown:
        raise ValueError(f"unknown publishing platform(s): {', '.join(sorted(unknown))}")
    base = podcast.DEFINITION
    if not chosen and not picked_topics:
        return base
    steps = list(base.steps)
    if picked_topics:
        steps = [_snippets_from_params(s) for s in steps if s.name != "discover"]
    if chosen:
        steps.append(
            Step(
                RELEASE_STEP,
                RELEASE_TASK,
                RELEASE_AGENT,
                after=["voice", "video", "cover"],
                inputs={
                    "params": "$params",
                    "voice": "$steps.voice",
                    "video": "$steps.video",
                    "cover": "$steps.cover",
                    "platforms": sorted(chosen),
                },
            )
        )
        for platform in sorted(chosen):
            task_type, agent = PLATFORM_STEPS[platform]
            inputs = {key: f"$steps.{RELEASE_STEP}.{platform}.{key}" for key in PAYLOAD_KEYS[platform]}
            steps.append(Step(platform, task_type, agent, after=[RELEASE_STEP], inputs=inputs))
    added = ", ".join([*(["picked topics"] if picked_topics else []), *sorted(chosen)])
    return WorkflowDefinition(
        definition_name(chosen, picked_topics=picked_topics),
        base.version,
        steps,
        description=f"{base.description} With {added}.",
    )


def _snippets_from_params(step: Step) -> Step:
    if step.name != "snippets":
        return step
    return replace(step, after=(), inputs={"topic_ids": "$params.topic_ids"})


def ensure_definition(platforms: Iterable[str], *, picked_topics: bool) -> str:
    """Register the definition for this combination (registering it again is a no-op); returns its name.
    The plain `podcast_episode` is left as registered (importing aether.podcasts.workflow did that)."""
    chosen = frozenset(platforms)
    if not chosen and not picked_topics:
        return podcast.NAME
    return register_workflow(build_definition(chosen, picked_topics=picked_topics)).name


def prepare_start(
    show: Mapping[str, Any],
    params: dict[str, Any],
    *,
    settings: Settings | None = None,
    topic_ids: list[str] | None = None,
) -> str:
    """Complete an episode's workflow parameters for `show` (in place) and return the definition to start.

    Adds `publish` (the targets snapshot the release step works from) and `topic_ids` when topics were
    picked; a YouTube target turns the video on (YouTube needs one)."""
    targets = parse_targets(show.get("targets"))
    platforms = platforms_for(targets, settings)
    if topic_ids:
        params["topic_ids"] = [str(t) for t in topic_ids]
    if platforms:
        params["publish"] = targets.stored()
    if "youtube" in platforms:
        params["video"] = True
    return ensure_definition(platforms, picked_topics=bool(topic_ids))


def public_url(settings: Settings) -> str:
    """The base of the links in posts and feeds: AETHER_PUBLIC_URL, else the gateway's own address."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
