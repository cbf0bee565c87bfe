"""A show's publishing targets: where a finished episode goes besides the show's own feed.

Stored as the JSONB `shows.targets` (migration 0010), set through the gateway's show API:

    {"telegram": {"chat_ids": ["@my_channel", -1001234567890]},
     "youtube": {"privacy_status": "unlisted", "made_for_kids": false, "category_id": "28",
                 "tags": ["science"], "shorts": true},
     "websub": true}

* `telegram` (absent or null = off): the chats and channels the episode's MP3 is sent to.
* `youtube` (absent or null = off; `{}` = on with the defaults): the episode video is uploaded, the
  vertical clip as a Short when `shorts`. Unset fields fall back to the youtube agent's `config`, then
  to YouTube's safe defaults (private, category 28, not made for kids).
* `websub` (default true): the configured hub (AETHER_WEBSUB_HUB_URL) is told that the show's feed
  changed; nothing happens while no hub is configured.

Bad input raises a pydantic ValidationError whose location names the field (e.g.
`targets.telegram.chat_ids.0`); `parse_targets` turns a stored value back into the model.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, ValidationError

from aether.errors import ValidationFailed, pattern_rule

CHANNEL_RE = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{3,31}$")
NUMERIC_RE = re.compile(r"^-?[0-9]{1,20}$")
TAGS_MAX_CHARS = 500  # YouTube's limit on all tags together

PLATFORMS = ("telegram", "youtube", "websub")


def _chat_id(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be a chat id number or an @channel name")
    if isinstance(value, int):
        if value == 0:
            raise ValueError("a chat id is never 0")
        return value
    text = value.strip()
    if NUMERIC_RE.match(text) and int(text) != 0:
        return int(text)
    if CHANNEL_RE.match(text):
        return text
    raise ValueError("must be a chat id number (e.g. -1001234567890) or an @channel name of 5-32 characters")


def _tags(value: list[str]) -> list[str]:
    total = sum(len(t) + (2 if " " in t else 0) for t in value) + max(0, len(value) - 1)
    if total > TAGS_MAX_CHARS:
        raise ValueError(f"the tags must fit in {TAGS_MAX_CHARS} characters together")
    return value


def _unique(value: list[int | str]) -> list[int | str]:
    seen: set[str] = set()
    for chat in value:
        if str(chat) in seen:
            raise ValueError(f"chat {chat} is listed twice")
        seen.add(str(chat))
    return value


ChatId = Annotated[int | str, BeforeValidator(_chat_id)]
Tag = Annotated[
    str, Field(min_length=1, max_length=100, pattern=pattern_rule(r"^[^<>,]+$", "text without <, > or commas"))
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TelegramTarget(_Strict):
    chat_ids: Annotated[list[ChatId], Field(min_length=1, max_length=20), AfterValidator(_unique)]


class YouTubeTarget(_Strict):
    privacy_status: Literal["public", "unlisted", "private"] | None = None
    made_for_kids: StrictBool | None = None
    category_id: str | None = Field(
        None, pattern=pattern_rule(r"^[0-9]{1,3}$", "a YouTube category number of 1 to 3 digits")
    )
    tags: Annotated[list[Tag], Field(max_length=30), AfterValidator(_tags)] | None = None
    shorts: StrictBool = True


class PublishTargets(_Strict):
    telegram: TelegramTarget | None = None
    youtube: YouTubeTarget | None = None
    websub: StrictBool = True

    def enabled(self) -> frozenset[str]:
        """The platforms this show publishes to."""
        on = {name for name in ("telegram", "youtube") if getattr(self, name) is not None}
        if self.websub:
            on.add("websub")
        return frozenset(on)

    def stored(self) -> dict[str, Any]:
        """The JSON kept in shows.targets (no nulls, so a stored value reads back the same)."""
        return self.model_dump(mode="json", exclude_none=True)


def parse_targets(raw: Any, *, field: str = "targets") -> PublishTargets:
    """A stored or submitted targets value as the model; ValidationFailed names the offending field."""
    if raw is None:
        return PublishTargets()
    try:
        return PublishTargets.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join([field, *(str(p) for p in first.get("loc", ()))])
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ValidationFailed(f"{where}: {message}", field=where) from None
