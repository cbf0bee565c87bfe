"""The `podcast_episode` workflow: topics in, a finished episode out.

    discover (tda.gather) ─► snippets (sca) ─► script (pswa) ─┐
    cover (iga) ───────────────────────────────────────┼─► voice (vfa) ─► video
    music ─────────────────────────────────────────────┘

Cover art and music start at once, in parallel with discovery; the voice waits for the script, the cover
(embedded in the tags) and the music; the video waits for the voice. Parameters (what the gateway's
`POST /v1/shows/{id}/episodes` and `aether demo` pass): `topic` (what the episode is about: discovery
picks the stories about it), `title` (the working title: cover art and music seed), `sources` (the
show's own sources), `urls` (sources given with this episode), `hosts`, `language`, `episode_minutes`,
`video` (false = the video step renders nothing).

An episode of a show starts a definition derived from this one by `aether.podcasts.plan`: a `release`
step and one step per publishing target of the show (Telegram, YouTube, WebSub) after the media, and
for a scheduled episode the snippets of the topics the scheduler picked instead of `discover`.
"""

from __future__ import annotations

from aether.orchestrator import Step, WorkflowDefinition, register_workflow

NAME = "podcast_episode"
VERSION = 1

DEFINITION = WorkflowDefinition(
    NAME,
    VERSION,
    description="Discover topics, write snippets and a script, draw the cover, compose music, voice it, render video.",
    steps=[
        Step(
            "discover",
            "tda.gather",
            "tda",
            inputs={
                "topic": "$params.topic",
                "sources": "$params.sources",
                "urls": "$params.urls",
                "minutes": "$params.episode_minutes",
            },
        ),
        Step("snippets", "sca.snippets", "sca", after=["discover"], inputs={"topics": "$steps.discover.topics"}),
        Step(
            "script",
            "pswa.write_script",
            "pswa",
            after=["snippets"],
            inputs={
                "snippets": "$steps.snippets.snippets",
                "minutes": "$params.episode_minutes",
                "hosts": "$params.hosts",
                "language": "$params.language",
                "show_title": "$params.show_title",
            },
        ),
        Step("cover", "iga.cover", "iga", inputs={"title": "$params.title"}),
        Step("music", "music.bed", "music", inputs={"title": "$params.title"}),
        Step(
            "voice",
            "vfa.synthesize",
            "vfa",
            after=["script", "cover", "music"],
            inputs={
                "script": "$steps.script.script",
                "cover_uri": "$steps.cover.cover_uri",
                "music": "$steps.music.music",
            },
        ),
        Step(
            "video",
            "video.render",
            "video",
            after=["voice", "cover"],
            inputs={
                "enabled": "$params.video",
                "audio_uri": "$steps.voice.audio_uri",
                "cover_uri": "$steps.cover.cover_uri",
                "transcript_uri": "$steps.voice.transcript_uri",
                "chapters_uri": "$steps.voice.chapters_uri",
                "title": "$steps.voice.title",
            },
        ),
    ],
)

register_workflow(DEFINITION)  # idempotent: the same definition may be registered again
