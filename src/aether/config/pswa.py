"""Scripts (the pswa agent): the writer, its cache, and the show's defaults (title, language, hosts).

AETHER_SCRIPT_HOSTS is normalised to one to four `{"name", "persona"}` objects with unique, non-empty names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from aether.config.base import Section


class PswaSettings(Section):
    heading = "Scripts (PSWA)"

    script_writer: Literal["auto", "offline", "llm"] = Field(
        "auto", description="Script writer: offline, llm, or auto (llm when AETHER_LLM_BASE_URL is set)."
    )
    script_cache: Literal["postgres", "sqlite"] = Field(
        "postgres", description="Backend of the generated-script cache."
    )
    script_cache_path: Path | None = Field(
        None, description="SQLite file of the script cache (AETHER_SCRIPT_CACHE=sqlite); default AETHER_HOME/scripts.db"
    )
    script_words_per_minute: int = Field(150, ge=60, le=300, description="Speaking rate that turns minutes into words.")
    script_show_title: str = Field(
        "Aether Daily",
        min_length=1,
        description="Show title of scripts written without a show (aether script write, aether demo); "
        "an episode of a show is always in the show's own name.",
    )
    script_language: str = Field("en", min_length=2, max_length=16, description="Default script language (BCP 47).")
    script_hosts: list[dict[str, str]] = Field(
        default_factory=lambda: [
            {"name": "Alex", "persona": "curious lead host who introduces each story"},
            {"name": "Sam", "persona": "analytical co-host who adds the details"},
        ],
        description='Hosts as JSON: [{"name": "Alex", "persona": "..."}, ...] (one to four).',
    )

    @field_validator("script_hosts")
    @classmethod
    def _check_hosts(cls, value: list[dict[str, str]]) -> list[dict[str, str]]:
        if not 1 <= len(value) <= 4:
            raise ValueError("must list one to four hosts")
        names = [str(host.get("name", "")).strip() for host in value]
        if not all(names):
            raise ValueError('every host needs a non-empty "name"')
        if len(set(names)) != len(names):
            raise ValueError("host names must be unique")
        personas = [str(host.get("persona", "")).strip() for host in value]
        return [{"name": name, "persona": persona} for name, persona in zip(names, personas, strict=True)]
