"""The LLM script writer: any OpenAI-compatible chat-completions API, output validated as a Script.

The model gets the snippets (headline, keyphrases, summary, source sentences with their URLs), the hosts
with their personas, the show's own intro and outro, and the word budget, and must answer with one JSON
object: episode title, description and segments. The prompt asks for what the offline writer does: a
conversation where one host frames each story with a question and the other answers from the sources,
hosts taking turns, reactions that name something concrete from the line before, no line opening with a
pronoun or connective whose antecedent was not just said, no stock phrase twice.

The reply is completed with the known fields (show, hosts, language, budget, writer, model), validated as
a `Script`, and checked by the same validator as the offline writer's scripts
(aether.agents.pswa.validate.check, without the offline writer's word-for-word source rule). There is
one retry: invalid output gets chat_json's repair retry (aether.providers.llm.LLMClient.chat_json); a
valid first script with validator problems is sent back once with the problems listed. Problems left
after that are repaired where that is mechanical (consecutive lines of one host in a segment become one
line), and the rest are named in the script's notes: a style problem does not cost the episode.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aether.agents.pswa.script import Line, Script, ScriptRequest, Segment, SourceRef
from aether.agents.pswa.validate import CONTINUATION, Problem, check
from aether.errors import InvalidReply, LLMInvalidOutput
from aether.providers.llm import LLMClient, TokenUsage

WRITER = "llm"
PROMPT_VERSION = "llm-2"
PROBLEMS_QUOTED = 4  # problems listed in the retry request (the rest are counted)


class _ReplyLine(BaseModel):
    model_config = ConfigDict(extra="ignore")
    speaker: str
    text: str


class _ReplySegment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    kind: Literal["intro", "topic", "outro"]
    title: str
    topic_id: str | None = None
    lines: list[_ReplyLine] = Field(min_length=1)


class ScriptReply(BaseModel):
    """What the model must return (the rest of the Script is known already)."""

    model_config = ConfigDict(extra="ignore")
    episode_title: str
    description: str
    segments: list[_ReplySegment] = Field(min_length=3)


def messages_for(request: ScriptRequest) -> list[dict[str, str]]:
    hosts = "; ".join(f"{h.name} ({h.persona})" if h.persona else h.name for h in request.hosts)
    stories = [
        {
            "topic_id": s.topic_id or s.id,
            "headline": s.headline,
            "keyphrases": s.keywords[:8],
            "summary": s.summary,
            "source_sentences": [{"text": f.text, "source_url": f.source_url} for f in s.facts[:30]],
        }
        for s in request.snippets
    ]
    conversation = (
        "Write it as a conversation between the hosts: one host introduces each story with a question or a "
        "framing line built from its headline and keyphrases, another answers from the source sentences, and "
        "they take turns. No host speaks two lines in a row (a line that deliberately continues the same "
        f"host's previous line must start with {CONTINUATION[0]!r}). A reaction refers to something concrete "
        "in the line before it: a number, a name or a place. No line opens with a pronoun or connective "
        "(It, This, They, These, He, She, Also, As well, But, So) unless what it refers to is said just "
        "before it. Never use the same stock phrase twice in the episode (no repeated 'Right.', 'Great "
        "point.', 'Here's another detail.'); vary the wording. "
        if len(request.hosts) > 1
        else "One host speaks the whole script; no line opens with a pronoun or connective (It, This, They, "
        "Also, As well) unless what it refers to is said just before it, and no stock phrase is used twice. "
    )
    frames = ""
    if request.intro:
        frames += f"The intro segment opens with exactly this line by {request.hosts[0].name}: "
        frames += f"{request.frame_line('intro')!r}. "
    if request.outro:
        frames += f"The outro segment ends with exactly this line by {request.hosts[0].name}: "
        frames += f"{request.frame_line('outro')!r}. "
    system = (
        f"You write scripts for the podcast {request.show_title!r}. Hosts: {hosts}. "
        f"Write in language {request.language!r}. The script is spoken by the hosts in turns, a natural "
        "conversation with an opening, transitions between stories and a closing. "
        + conversation
        + frames
        + "Speak each host in the manner their description gives. "
        "Use only facts stated in the source sentences you are given; never invent names, numbers, dates "
        "or quotes. "
        f"The whole script should be about {request.target_words} words. "
        "Reply with one JSON object only, no prose around it, with keys: episode_title, description, "
        'segments: a list of {"kind": "intro"|"topic"|"outro", "title", "topic_id", '
        '"lines": [{"speaker", "text"}]}: first one intro segment, then one topic segment per story in '
        "the order given (with its topic_id), then one outro segment. Every speaker must be one of: "
        f"{', '.join(h.name for h in request.hosts)}."
    )
    user = json.dumps({"target_words": request.target_words, "stories": stories}, ensure_ascii=False)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def problems_text(problems: list[Problem]) -> str:
    """The validator's problems as the retry request quotes them."""
    listed = "; ".join(str(p) for p in problems[:PROBLEMS_QUOTED])
    more = len(problems) - PROBLEMS_QUOTED
    return f"{listed}{f'; and {more} more' if more > 0 else ''}"


def merge_turns(script: Script) -> Script:
    """The script with consecutive lines of one host inside a segment made one line (a mechanical repair)."""
    segments: list[Segment] = []
    for segment in script.segments:
        lines: list[Line] = []
        for line in segment.lines:
            if lines and lines[-1].speaker == line.speaker and len(lines[-1].text) + len(line.text) < 3999:
                last = lines[-1]
                text = f"{last.text} {line.text.lstrip('…. ') if line.text.startswith(CONTINUATION) else line.text}"
                sources = list(dict.fromkeys([*last.sources, *line.sources]))
                lines[-1] = Line(id=last.id, speaker=last.speaker, text=text, sources=sources)
            else:
                lines.append(line)
        segments.append(segment.model_copy(update={"lines": lines}))
    merged = script.model_copy(update={"segments": segments})
    merged.word_count = merged.spoken_words()
    return merged


def _validator(request: ScriptRequest, model: str) -> Any:
    known_topics = {s.topic_id or s.id for s in request.snippets} - {None}
    urls = {f.source_url: f.source_title for s in request.snippets for f in s.facts if f.source_url is not None}

    def validate(value: Any) -> Script:
        reply = ScriptReply.model_validate(value)
        for index, segment in enumerate(reply.segments):
            if segment.topic_id is not None and segment.topic_id not in known_topics:
                raise InvalidReply(f"segments[{index}].topic_id {segment.topic_id!r} is not one of the stories")
        script = Script.model_validate(
            {
                "show_title": request.show_title,
                "episode_title": reply.episode_title,
                "description": reply.description,
                "language": request.language,
                "hosts": [h.model_dump() for h in request.hosts],
                "target_minutes": request.minutes,
                "target_words": request.target_words,
                "word_count": 0,
                "segments": [s.model_dump() for s in reply.segments],
                "sources": [SourceRef(url=u, title=t).model_dump() for u, t in urls.items()],
                "writer": WRITER,
                "model": model,
                "prompt_version": PROMPT_VERSION,
            }
        )
        script.word_count = script.spoken_words()
        return script

    return validate


def _as_reply(script: Script) -> str:
    """A script as the model's reply would hold it (quoted back to the model in the retry)."""
    segments = [
        {
            "kind": seg.kind,
            "title": seg.title,
            "topic_id": seg.topic_id,
            "lines": [{"speaker": line.speaker, "text": line.text} for line in seg.lines],
        }
        for seg in script.segments
    ]
    reply = {"episode_title": script.episode_title, "description": script.description, "segments": segments}
    return json.dumps(reply, ensure_ascii=False)


async def write_llm(llm: LLMClient, request: ScriptRequest) -> tuple[Script, TokenUsage]:
    """The model's script. One retry in all: for invalid output (chat_json's repair), else for a valid script
    the validator finds problems in; problems left after it are repaired where mechanical, else noted."""
    messages = messages_for(request)
    schema = ScriptReply.model_json_schema()
    validate = _validator(request, llm.model)
    result = await llm.chat_json(messages, name="podcast_script", schema=schema, validate=validate)
    script: Script = result.value
    usage = result.usage
    notes: list[str] = []
    if result.repaired:
        notes.append("the model's first reply was invalid; the repair retry succeeded")
    problems = check(script, request, sourced_only=False)
    if problems and not result.repaired:
        retry = [
            *messages,
            {"role": "assistant", "content": _as_reply(script)},
            {
                "role": "user",
                "content": (
                    f"Your script does not read as the hosts talking: {problems_text(problems)}. Reply again with "
                    "the whole script, these problems fixed, as one JSON object and nothing else."
                ),
            },
        ]
        try:
            second = await llm.chat_json(retry, name="podcast_script", schema=schema, validate=validate)
        except LLMInvalidOutput as exc:
            notes.append(f"the retry for the validator's problems gave no valid script ({exc})")
        else:
            script, usage = second.value, usage + second.usage
            notes.append(f"the model's first script had {len(problems)} validator problem(s); it was asked once more")
            problems = check(script, request, sourced_only=False)
    if problems:
        script = merge_turns(script)
        left = check(script, request, sourced_only=False)
        if left:
            notes.append(f"the validator found {len(left)} problem(s) left: {problems_text(left)}")
    script.notes.extend(notes)
    return script, usage
