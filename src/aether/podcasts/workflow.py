"""The `podcast_episode` workflow: a topic in, a finished, published episode out.

    discover (tda.gather) ─► snippets (sca) ─► script (pswa) ─► draft ─┐
    cover (iga) ─────────────────────────────────────────────────┼─► voice (vfa) ─► video ─► release
    music ───────────────────────────────────────────────────────┘

Cover art and music start at once, in parallel with discovery. `draft` (task `podcasts.draft`) keeps the
written script as version 1 of the episode's script (aether.podcasts.scripts), opens the episode's
audio version (an `episode_renders` row) and hands the voice the script with the show's speech settings
(cast and voices, lexicon, loudness, music on or off). The voice waits for the draft, the cover (embedded
in the tags) and the music; the video waits for the voice; `release` (task `publish.release`) marks the
episode published and links this version's media in one transaction, so the feed lists it at once.

Parameters (what `aether.podcasts.episodes.episode_params` builds): `topic` (what the episode is about:
discovery picks the stories about it), `title` (the working title: cover art and music seed), `sources`
(the show's own sources), `urls` (sources given with this episode), `hosts`, `cast`, `language`,
`episode_minutes`, `video` (false = the video step renders nothing), `show_title`, `pronunciations`,
`intro`, `outro`, `music`, `loudness_lufs`, `review`, and `episode_id`.

`aether.podcasts.plan` derives the variants an episode starts instead: with publishing targets (a step
per platform after `release`), with topics picked in advance (no `discover`), held for review (it ends
after the draft) and the render of an approved or edited script (draft, voice, video, release).
"""

from __future__ import annotations

from aether.orchestrator import Step, WorkflowDefinition, register_workflow

NAME = "podcast_episode"
VERSION = 2  # 2: the draft and release steps
DRAFT_TASK = "podcasts.draft"
RELEASE_TASK = "publish.release"
STUDIO_AGENT = "publish"  # the draft and release steps are quick database work, run by the publish agent

DEFINITION = WorkflowDefinition(
    NAME,
    VERSION,
    description="Discover stories, write a script, draw the cover, compose music, voice it, render video, publish.",
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
                "hosts": "$params.cast",
                "intro": "$params.intro",
                "outro": "$params.outro",
                "language": "$params.language",
                "show_title": "$params.show_title",
            },
        ),
        Step(
            "draft",
            DRAFT_TASK,
            STUDIO_AGENT,
            after=["script"],
            inputs={"script": "$steps.script.script", "params": "$params"},
        ),
        Step("cover", "iga.cover", "iga", inputs={"title": "$params.title"}),
        Step("music", "music.bed", "music", inputs={"title": "$params.title"}),
        Step(
            "voice",
            "vfa.synthesize",
            "vfa",
            after=["draft", "cover", "music"],
            inputs={
                "script": "$steps.draft.script",
                "speech": "$steps.draft.speech",
                "show_title": "$params.show_title",
                "author": "$params.show_author",
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
                "show_title": "$params.show_title",
                "author": "$params.show_author",
            },
        ),
        Step(
            "release",
            RELEASE_TASK,
            STUDIO_AGENT,
            after=["voice", "video", "cover"],
            inputs={
                "params": "$params",
                "draft": "$steps.draft",
                "voice": "$steps.voice",
                "video": "$steps.video",
                "cover": "$steps.cover",
                "platforms": [],
            },
        ),
    ],
)

register_workflow(DEFINITION)  # idempotent: the same definition may be registered again
