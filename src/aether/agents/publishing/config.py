"""The config models of the publishing agents: `youtube` (uploads) and `telegram` (messages to chats)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from aether.agents.config import AgentConfig, Tag, pattern_rule


class YoutubeConfig(AgentConfig):
    channel_id: str | None = Field(None, min_length=1, max_length=100)
    privacy_status: Literal["private", "unlisted", "public"] = "private"
    category_id: str = Field("22", pattern=pattern_rule(r"^\d{1,4}$", "a YouTube category number of 1 to 4 digits"))
    playlist_id: str | None = Field(None, min_length=1, max_length=100)
    default_tags: list[Tag] = Field(default_factory=list, max_length=30)
    made_for_kids: bool = False
    notify_subscribers: bool = True
    title_template: str | None = Field(None, min_length=1, max_length=200)


CHAT_ID = re.compile(r"^(@[A-Za-z0-9_]{5,64}|-?\d{1,20})$")


class TelegramConfig(AgentConfig):
    chat_ids: list[int | str] = Field(default_factory=list, max_length=100)
    parse_mode: Literal["HTML", "MarkdownV2", "Markdown"] | None = "HTML"
    send_audio: bool = True
    disable_notification: bool = False
    caption_template: str | None = Field(None, min_length=1, max_length=1024)

    @field_validator("chat_ids")
    @classmethod
    def _chat_ids(cls, value: list[int | str]) -> list[int | str]:
        for chat in value:
            if isinstance(chat, str) and not CHAT_ID.match(chat):
                raise ValueError(f"{chat!r} is not a chat id (a number) or an @channel name")
        return value
