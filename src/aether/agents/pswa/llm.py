"""The LLM script writer: any OpenAI-compatible chat-completions API, output validated as a Script.

The model gets the snippets (headline, summary, source sentences with their URLs), the hosts and the word
budget, and must answer with one JSON object: episode title, description and segments. That reply is
completed with the known fields (show, hosts, language, budget, writer, model) and validated as a
`Script`; invalid output gets one repair retry (see aether.providers.llm.LLMClient.chat_json).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aether.agents.pswa.script import Script, ScriptRequest, SourceRef
from aether.errors import InvalidReply
from aether.providers.llm import LLMClient, TokenUsage

WRITER = "llm"
PROMPT_VERSION = "llm-1"


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
            "summary": s.summary,
            "source_sentences": [{"text": f.text, "source_url": f.source_url} for f in s.facts[:30]],
        }
        for s in request.snippets
    ]
    system = (
        f"You write scripts for the podcast {request.show_title!r}. Hosts: {hosts}. "
        f"Write in language {request.language!r}. The script is spoken by the hosts in turns, a natural "
        "conversation with an opening, transitions between stories and a closing. "
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


async def write_llm(llm: LLMClient, request: ScriptRequest) -> tuple[Script, TokenUsage]:
    result = await llm.chat_json(
        messages_for(request),
        name="podcast_script",
        schema=ScriptReply.model_json_schema(),
        validate=_validator(request, llm.model),
    )
    script: Script = result.value
    if result.repaired:
        script.notes.append("the model's first reply was invalid; the repair retry succeeded")
    return script, result.usage
