"""The definition one episode starts with: `podcast_episode` plus what this episode of this show needs.

The workflow engine has no conditional steps, but it copies a definition's steps into the workflow's
own rows when the workflow starts and never reads the registered definition again. So the step list is
chosen at start, from the show's publishing targets, from how the topics were chosen and from the mode:

* publishing targets (see `aether.podcasts.targets`): after the `release` step (which every episode
  has: it marks the episode published and links its media) come `telegram` (telegram.publish),
  `youtube` (youtube.publish) and `websub` (publish.websub), each only when the show has that target
  (websub also only when a hub is configured). A platform step exists only when it has work, so a show
  without YouTube never waits on a youtube worker or on an agent in `error`.
* topics picked in advance (a scheduled episode, `params.topic_ids`): the snippets step reads those
  topics and the `discover` step is left out (the scheduler has just read the show's feeds).
* `review` (the show holds each new script for approval): the workflow ends with the draft, which puts
  the episode in `review`; no voice, video or release.
* `render` (an approved or edited script, aether.podcasts.studio): the draft reads the script's latest
  version, then voice, video and release; the cover and music are the episode's own, from
  `params.render` (`cover` = the cover step's output, `music` = the music step's).

Each distinct step list is a definition of its own, registered under a name that says what it adds:
`podcast_episode` (nothing added), `podcast_episode.telegram.websub`, `podcast_episode.review.topics`,
`podcast_episode.render.youtube` and so on, all at the base definition's version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Literal

from aether.config import Settings
from aether.orchestrator import Step, WorkflowDefinition, register_workflow
from aether.podcasts import workflow as podcast
from aether.podcasts.targets import PublishTargets, parse_targets

TOPICS = "topics"
RELEASE_STEP = "release"
RELEASE_TASK = podcast.RELEASE_TASK
RELEASE_AGENT = podcast.STUDIO_AGENT
Mode = Literal["full", "review", "render"]
MODES: tuple[Mode, ...] = ("full", "review", "render")
_HELD = frozenset({"voice", "video", RELEASE_STEP})  # the steps a script held for review waits for
_RENDER = frozenset({"draft", "voice", "video", RELEASE_STEP})  # the steps of a render

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


def definition_name(platforms: Iterable[str], *, picked_topics: bool, mode: Mode = "full") -> str:
    parts: list[str] = [mode] if mode != "full" else []
    parts += [TOPICS] if picked_topics and mode != "render" else []
    parts += sorted(set(platforms)) if mode != "review" else []
    return ".".join([podcast.NAME, *parts])


def build_definition(platforms: Iterable[str], *, picked_topics: bool, mode: Mode = "full") -> WorkflowDefinition:
    """The base `podcast_episode` definition with platform steps and/or picked topics, in `mode`."""
    chosen = frozenset(platforms) if mode != "review" else frozenset()
    unknown = frozenset(platforms) - set(PLATFORM_STEPS)
    if unknown:
        raise ValueError(f"unknown publishing platform(s): {', '.join(sorted(unknown))}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: one of {', '.join(MODES)}")
    base = podcast.DEFINITION
    if not chosen and not picked_topics and mode == "full":
        return base
    steps = list(base.steps)
    if mode == "review":
        steps = [s for s in steps if s.name not in _HELD]
    elif mode == "render":
        steps = [_from_render_params(s) for s in steps if s.name in _RENDER]
    if picked_topics and mode != "render":
        steps = [_snippets_from_params(s) for s in steps if s.name != "discover"]
    if chosen:
        steps = [
            replace(s, inputs={**s.inputs, "platforms": sorted(chosen)}) if s.name == RELEASE_STEP else s for s in steps
        ]
        for platform in sorted(chosen):
            task_type, agent = PLATFORM_STEPS[platform]
            inputs = {key: f"$steps.{RELEASE_STEP}.{platform}.{key}" for key in PAYLOAD_KEYS[platform]}
            steps.append(Step(platform, task_type, agent, after=[RELEASE_STEP], inputs=inputs))
    added = ", ".join(
        [*([f"{mode} mode"] if mode != "full" else []), *(["picked topics"] if picked_topics else []), *sorted(chosen)]
    )
    return WorkflowDefinition(
        definition_name(chosen, picked_topics=picked_topics, mode=mode),
        base.version,
        steps,
        description=f"{base.description} With {added}.",
    )


def _snippets_from_params(step: Step) -> Step:
    if step.name != "snippets":
        return step
    return replace(step, after=(), inputs={"topic_ids": "$params.topic_ids"})


def _from_render_params(step: Step) -> Step:
    """A step of a render: the draft reads the latest script; the cover and music are the episode's own."""
    if step.name == "draft":
        return replace(step, after=(), inputs={"script": None, "params": "$params"})
    if step.name in ("voice", "video"):
        inputs = {**step.inputs, "cover_uri": "$params.render.cover.cover_uri"}
        if "music" in inputs:
            inputs["music"] = "$params.render.music.music"
        return replace(step, after=[a for a in step.after if a in _RENDER], inputs=inputs)
    if step.name == RELEASE_STEP:
        return replace(step, after=["voice", "video"], inputs={**step.inputs, "cover": "$params.render.cover"})
    return step


def ensure_definition(platforms: Iterable[str], *, picked_topics: bool, mode: Mode = "full") -> str:
    """Register the definition for this combination (registering it again is a no-op); returns its name.
    The plain `podcast_episode` is left as registered (importing aether.podcasts.workflow did that)."""
    definition = build_definition(platforms, picked_topics=picked_topics, mode=mode)
    if definition is podcast.DEFINITION:
        return podcast.NAME
    return register_workflow(definition).name


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
    mode: Mode = "review" if params.get("review") else "full"
    return ensure_definition(platforms, picked_topics=bool(topic_ids), mode=mode)


def public_url(settings: Settings) -> str:
    """The base of the links in posts and feeds: AETHER_PUBLIC_URL, else the gateway's own address."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
