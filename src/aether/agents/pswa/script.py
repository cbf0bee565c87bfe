"""The podcast script as validated JSON, and the validated input of the script writers."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aether.config import Settings
from aether.errors import ValidationFailed, invalid, pattern_rule
from aether.text import count_words

MAX_SNIPPETS = 20
MIN_MINUTES = 1.0
MAX_MINUTES = 120.0
MAX_FRAME_CHARS = 1000


LINE_ID_PATTERN = pattern_rule(r"^l[0-9]{1,6}$", "a line id: l and 1 to 6 digits, such as l12")


class Host(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    persona: str = Field("", max_length=300)


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, pattern=LINE_ID_PATTERN, description="The line's id in an episode's script")
    speaker: str = Field(min_length=1, max_length=60)
    text: str = Field(min_length=1, max_length=4000)
    sources: list[str] = Field(default_factory=list, description="URLs of the source sentences this line speaks")


class Segment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["intro", "topic", "outro"]
    title: str = Field(min_length=1, max_length=300)
    topic_id: str | None = None
    lines: list[Line] = Field(min_length=1)


class SourceRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    title: str | None = None


class Script(BaseModel):
    """A whole episode script. Speakers must be hosts; segments run intro, topics (one or more), outro."""

    model_config = ConfigDict(extra="forbid")

    show_title: str = Field(min_length=1, max_length=200)
    episode_title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=5000)
    language: str = Field(min_length=2, max_length=16)
    hosts: list[Host] = Field(min_length=1, max_length=4)
    target_minutes: float = Field(gt=0)
    target_words: int = Field(gt=0)
    word_count: int = Field(ge=0)
    segments: list[Segment] = Field(min_length=3)
    sources: list[SourceRef] = Field(default_factory=list)
    writer: str
    model: str | None = None
    prompt_version: str
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _structure(self) -> Script:
        names = {h.name for h in self.hosts}
        for s_index, segment in enumerate(self.segments):
            for l_index, line in enumerate(segment.lines):
                if line.speaker not in names:
                    raise ValueError(
                        f"segments[{s_index}].lines[{l_index}].speaker {line.speaker!r} is not a host "
                        f"(hosts: {', '.join(sorted(names))})"
                    )
        kinds = [s.kind for s in self.segments]
        if kinds[0] != "intro" or kinds[-1] != "outro" or any(k != "topic" for k in kinds[1:-1]):
            raise ValueError(f"segments must be intro, one or more topic segments, outro (got {', '.join(kinds)})")
        return self

    def spoken_words(self) -> int:
        return sum(count_words(line.text) for segment in self.segments for line in segment.lines)


def script_json_schema() -> dict[str, Any]:
    return Script.model_json_schema()


# ---- input -------------------------------------------------------------------------------------------


class FactIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1, max_length=2000)
    source_url: str | None = None
    source_title: str | None = None
    publication: str | None = None  # the publication to credit (aether.agents.tda.publication)
    order: list[int] | None = None


class SnippetIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    topic_id: str | None = None
    headline: str = Field(min_length=1, max_length=300)
    summary: str = Field("", max_length=5000)
    facts: list[FactIn] = Field(default_factory=list, max_length=500)
    sources: list[dict[str, Any]] = Field(default_factory=list, max_length=200)
    keywords: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=50, description="The story's keyphrases (as sca.snippets gives them)"
    )

    @field_validator("keywords", mode="before")
    @classmethod
    def _phrases(cls, value: Any) -> Any:
        """Topics keep keywords as [phrase, weight] pairs (aether.agents.tda); the phrase is what counts."""
        if isinstance(value, list):
            return [k[0] if isinstance(k, list | tuple) and k and isinstance(k[0], str) else k for k in value]
        return value

    @field_validator("headline")
    @classmethod
    def _headline(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("must not be blank")
        return value


class ScriptRequest(BaseModel):
    """What a writer gets: snippets, a length, hosts, show title and language (all validated), and the
    show's own opening and closing lines when it has them (`{show}` and `{host}` in them are filled in)."""

    model_config = ConfigDict(extra="forbid")

    snippets: list[SnippetIn] = Field(min_length=1, max_length=MAX_SNIPPETS)
    minutes: float = Field(ge=MIN_MINUTES, le=MAX_MINUTES)
    hosts: list[Host] = Field(min_length=1, max_length=4)
    show_title: str = Field(min_length=1, max_length=200)
    language: str = Field(min_length=2, max_length=16)
    words_per_minute: int = Field(ge=60, le=300)
    intro: str | None = Field(None, min_length=1, max_length=MAX_FRAME_CHARS)
    outro: str | None = Field(None, min_length=1, max_length=MAX_FRAME_CHARS)

    @field_validator("intro", "outro", mode="before")
    @classmethod
    def _frame_line(cls, value: object) -> object:
        if isinstance(value, str):
            return " ".join(value.split()) or None  # blank means the writer's own line
        return value

    @model_validator(mode="after")
    def _unique_hosts(self) -> ScriptRequest:
        names = [h.name for h in self.hosts]
        if len(set(names)) != len(names):
            raise ValueError("host names must be unique")
        return self

    @property
    def target_words(self) -> int:
        return round(self.minutes * self.words_per_minute)

    @property
    def seed(self) -> int:
        """A number fixed by the whole request: the writers' seeded choices depend on nothing else."""
        digest = hashlib.sha256(self.model_dump_json().encode()).digest()
        return int.from_bytes(digest[:8], "big")

    def frame_line(self, which: Literal["intro", "outro"]) -> str | None:
        """The show's own intro or outro with `{show}` and `{host}` (the first host) filled in, or None."""
        text = self.intro if which == "intro" else self.outro
        if text is None:
            return None
        return text.replace("{show}", self.show_title).replace("{host}", self.hosts[0].name)

    @classmethod
    def parse(cls, payload: dict[str, Any], settings: Settings) -> ScriptRequest:
        """Validate a task payload / CLI input; ValidationFailed names the field and the rule."""
        if not isinstance(payload, dict):
            raise ValidationFailed("the request must be a JSON object", field="payload")
        hosts = payload.get("hosts")
        if hosts is None:
            hosts = settings.script_hosts
        elif isinstance(hosts, list):
            hosts = [_host(h) for h in hosts]
        data = {
            "snippets": payload.get("snippets"),
            "minutes": payload.get("minutes", 5),
            "hosts": hosts,
            "show_title": payload.get("show_title") or settings.script_show_title,
            "language": payload.get("language") or settings.script_language,
            "words_per_minute": settings.script_words_per_minute,
            "intro": payload.get("intro"),
            "outro": payload.get("outro"),
        }
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise invalid(exc) from None


def _host(value: object) -> object:
    """A host as a request may give it: a name, or the show bible's object (its `voice` is not the writer's)."""
    if isinstance(value, str):
        return {"name": value}
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "voice"}
    return value
