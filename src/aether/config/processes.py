"""The processes: where the gateway listens, how many API processes run, logging, and what `aether up` seeds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aether.config.base import Section


class ProcessesSettings(Section):
    heading = "Processes"

    host: str = Field("127.0.0.1", description="Address the gateway listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the gateway listens on.")
    api_workers: int = Field(
        0, ge=0, le=256, description="Processes `aether api` runs, sharing its port (0 = one per core)."
    )
    public_url: str | None = Field(None, description="Public base URL for links in feeds and mails.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    log_format: Literal["json", "text"] = Field("text", description="Log line format.")
    demo_content: bool = Field(
        True, description="`aether up` creates a demo show and its first episode on an empty installation."
    )
