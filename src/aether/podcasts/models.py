"""Request bodies of the API: every model rejects unknown fields and names the field that breaks a rule."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
)

from aether.errors import ValidationFailed, pattern_rule
from aether.podcasts import categories
from aether.podcasts.targets import PublishTargets
from aether.security.passwords import check_password_rules
from aether.text import LANGUAGE_PATTERN

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
LANGUAGE_RE = LANGUAGE_PATTERN
SLUG_RE = pattern_rule(
    r"^[a-z0-9]+(-[a-z0-9]+)*$", "lowercase letters and digits in words joined by single hyphens, such as my-show"
)
NOT_BLANK = pattern_rule(r"\S", "more than spaces")


def _email(value: str) -> str:
    if len(value) > EMAIL_MAX or not EMAIL_RE.match(value := value.strip()):
        raise ValueError("must be an email address like name@example.org")
    return value


def _http_url(value: str) -> str:
    value = value.strip()
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
        raise ValueError("must be an http:// or https:// URL")
    return value


CRON_RULE = "must be a cron expression with exactly 5 fields (minute hour day-of-month month weekday), e.g. '0 6 * * 1'"


def _cron(value: str | None) -> str | None:
    """Exactly 5 fields: croniter alone also takes a 6th (seconds) field and @daily-style names."""
    if value is None or not value.strip():
        return None
    fields = value.split()
    if len(fields) != 5 or not croniter.is_valid(" ".join(fields)):
        raise ValueError(CRON_RULE)
    return " ".join(fields)


def _password(value: str) -> str:
    try:
        check_password_rules(value)
    except ValidationFailed as exc:
        raise ValueError(exc.message.removeprefix("password ")) from None
    return value


Password = Annotated[str, AfterValidator(_password)]  # a new password, taken exactly as typed (not stripped)


# one of Apple's categories, "Top" or "Top > Sub"; the document lists them all
Category = Annotated[
    str,
    Field(max_length=100, json_schema_extra={"enum": list(categories.CATEGORIES)}),
    AfterValidator(categories.check),
]
# the document states what is accepted: the address pattern, with the white space around it that is stripped
EMAIL_MAX = 320
Email = Annotated[
    str,
    Field(json_schema_extra={"pattern": r"^\s*" + EMAIL_RE.pattern[1:-1] + r"\s*$", "maxLength": EMAIL_MAX}),
    AfterValidator(_email),
]
HttpUrl = Annotated[str, Field(max_length=2000), AfterValidator(_http_url)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Language = Annotated[str, StringConstraints(pattern=LANGUAGE_RE, max_length=16)]
Cron = Annotated[str | None, AfterValidator(_cron)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---- the show bible -----------------------------------------------------------------------------------


class VoiceIn(Strict):
    """How a host sounds: a Piper voice (`model`: an .onnx path; none = the bundled voice) or a voice of an
    OpenAI-compatible speech API (`voice`: its name; `model`: the API's model, default AETHER_TTS_MODEL)."""

    engine: Literal["piper", "api"] = "piper"
    model: str | None = Field(None, min_length=1, max_length=500)
    voice: str | None = Field(None, min_length=1, max_length=100)
    pitch: StrictFloat = Field(1.0, ge=0.5, le=2.0)
    tempo: StrictFloat = Field(1.0, ge=0.5, le=2.0)
    volume_db: StrictFloat = Field(0.0, ge=-20, le=20)
    language: Language | None = None


class HostIn(Strict):
    name: Name
    persona: str = Field("", max_length=300)
    voice: VoiceIn | None = None


def _hosts(value: Any) -> Any:
    """Plain strings are names; names must be unique."""
    if not isinstance(value, list):
        return value
    hosts = [{"name": v} if isinstance(v, str) else v for v in value]
    names = [h.get("name", "").strip().lower() for h in hosts if isinstance(h, dict) and isinstance(h.get("name"), str)]
    if len(set(names)) != len(names):
        raise ValueError("host names must be unique")
    return hosts


# the document says what is accepted: objects, or plain strings that are names
Hosts = Annotated[list[HostIn], BeforeValidator(_hosts, json_schema_input_type=list[HostIn | Name])]


class Pronunciation(Strict):
    """A name or word as the voices should say it (`say`), applied to speech only, never to the transcript."""

    text: str = Field(min_length=1, max_length=100, pattern=NOT_BLANK)
    say: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK)


def _lexicon(value: Any) -> Any:
    if isinstance(value, list):
        seen = [p.get("text", "").strip() for p in value if isinstance(p, dict) and isinstance(p.get("text"), str)]
        if len(set(seen)) != len(seen):
            raise ValueError("each text may be listed once")
    return value


Lexicon = Annotated[list[Pronunciation], BeforeValidator(_lexicon)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class RegisterIn(Strict):
    # passwords are taken exactly as typed: no stripping (a subclass's config merges with Strict's)
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    email: Email
    password: Password
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class LoginIn(Strict):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    email: Email
    password: str = Field(min_length=1, max_length=1024)


class Preferences(Strict):
    """Defaults for new episodes, kept with the session."""

    hosts: list[Name] | None = Field(None, min_length=1, max_length=4)
    voice: str | None = Field(None, min_length=1, max_length=100)
    voice_speed: StrictFloat | None = Field(None, ge=0.5, le=2.0)
    episode_minutes: StrictInt | None = Field(None, ge=1, le=120)
    language: Language | None = None


class ShowIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(None, min_length=1, max_length=80, pattern=SLUG_RE)
    description: str = Field("", max_length=4000)
    author: str = Field("", max_length=200)
    owner_email: Email | None = None
    language: Language = "en"
    category: Category = "Technology"
    explicit: StrictBool = False
    hosts: Hosts = Field(default_factory=list, max_length=4)
    sources: list[HttpUrl] = Field(default_factory=list, max_length=50)
    schedule: Cron = Field(None, max_length=100)
    targets: PublishTargets = Field(default_factory=PublishTargets)
    pronunciations: Lexicon = Field(default_factory=list, max_length=200)
    intro: Line | None = None
    outro: Line | None = None
    music: StrictBool = True
    loudness_lufs: StrictFloat = Field(-16.0, ge=-36, le=-6)
    review: StrictBool = False


class ShowPatch(Strict):
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=4000)
    author: str | None = Field(None, max_length=200)
    owner_email: Email | None = None
    language: Language | None = None
    category: Category | None = None
    explicit: StrictBool | None = None
    hosts: Hosts | None = Field(None, max_length=4)
    sources: list[HttpUrl] | None = Field(None, max_length=50)
    schedule: Cron = Field(None, max_length=100)
    targets: PublishTargets | None = None  # replaces the show's targets whole; null = no targets
    pronunciations: Lexicon | None = Field(None, max_length=200)
    intro: Line | None = None
    outro: Line | None = None
    music: StrictBool | None = None
    loudness_lufs: StrictFloat | None = Field(None, ge=-36, le=-6)
    review: StrictBool | None = None


class EpisodeIn(Strict):
    """A new episode: what it is about; unset fields come from the session's preferences, then the show."""

    topic: str = Field(min_length=3, max_length=500)
    title: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=4000)
    episode_type: Literal["full", "trailer", "bonus"] = "full"
    hosts: list[Name] | None = Field(None, min_length=1, max_length=4)
    voice: str | None = Field(None, min_length=1, max_length=100)
    voice_speed: StrictFloat | None = Field(None, ge=0.5, le=2.0)
    episode_minutes: StrictInt | None = Field(None, ge=1, le=120)
    language: Language | None = None
    sources: list[HttpUrl] | None = Field(None, max_length=50)
    video: StrictBool = False


class SubscribeIn(Strict):
    email: Email
