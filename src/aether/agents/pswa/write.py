"""PSWA, the Podcast Script Weaver Agent: snippets in, a validated podcast script (JSON) out, cached.

Task `pswa.write_script` (agent "pswa"):

    payload  {"snippets": [snippet, ...],      # as sca.snippets returns them (headline, summary, facts, ...)
              "minutes": number?,               # 1..120, default 5; the word budget is minutes × words/minute
              "hosts": [{"name", "persona"} | name]?, "show_title": str?, "language": str?}
    result   {"script": {show_title, episode_title, description, language, hosts, target_minutes,
                         target_words, word_count, segments: [{kind: intro|topic|outro, title, topic_id,
                         lines: [{speaker, text, sources: [url]}]}], sources, writer, model,
                         prompt_version, notes},
              "cache_hit": bool, "cache_key": str, "writer": "offline"|"llm", "model": str|None,
              "token_usage": {"prompt_tokens", "completion_tokens", "total_tokens", "calls"} | None}

Writers: `offline` (deterministic, facts only from the sources) or `llm` (AETHER_LLM_*); AETHER_SCRIPT_WRITER
picks one, `auto` meaning llm when AETHER_LLM_BASE_URL is set. Scripts are cached by a hash of (inputs,
writer, model, prompt version) in `generated_scripts` (PostgreSQL, or SQLite with AETHER_SCRIPT_CACHE=sqlite).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aether.agents.pswa import llm as pswa_llm
from aether.agents.pswa import offline as pswa_offline
from aether.agents.pswa.cache import CacheEntry, ScriptCache, cache_key, open_cache, topic_hash
from aether.agents.pswa.script import Script, ScriptRequest
from aether.config import Settings
from aether.db.pool import Database
from aether.errors import PermanentError, ValidationFailed
from aether.providers.llm import LLMClient
from aether.queue.tasks import Blueprint, TaskContext
from aether.security.credentials import with_stored_secrets

tasks = Blueprint()


SHORT = 0.85  # a script under this share of the words asked for says so


@dataclass(frozen=True)
class ScriptResult:
    script: dict[str, Any]
    cache_hit: bool
    cache_key: str
    writer: str
    model: str | None
    token_usage: dict[str, Any] | None

    @property
    def warnings(self) -> list[str]:
        """What a listener should know before pressing play: a script shorter than asked says by how much."""
        words, target = int(self.script["word_count"]), int(self.script["target_words"])
        if words >= target * SHORT:
            return []
        per_minute = target / float(self.script["target_minutes"])
        written = words / per_minute
        about = "less than a minute" if written < 1 else f"about {round(written)}"
        asked = f"{float(self.script['target_minutes']):g}"
        return [f"material for {about} of the {asked} minutes asked"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "script": self.script,
            "cache_hit": self.cache_hit,
            "cache_key": self.cache_key,
            "writer": self.writer,
            "model": self.model,
            "token_usage": self.token_usage,
            "words": self.script["word_count"],
            "warnings": self.warnings,
        }


# The languages the offline writer has its fixed phrases in (aether.agents.pswa.offline refuses others);
# an LLM writer writes any language.
OFFLINE_LANGUAGES = frozenset({"en"})


def writer_languages(settings: Settings) -> frozenset[str] | None:
    """The primary language subtags the configured writer can write; None = any (an LLM)."""
    return None if choose_writer(settings) == "llm" else OFFLINE_LANGUAGES


def choose_writer(settings: Settings, override: str | None = None) -> str:
    writer = override or settings.script_writer
    if writer == "auto":
        return "llm" if settings.llm_base_url else "offline"
    if writer not in ("offline", "llm"):
        raise ValidationFailed(f"writer must be offline, llm or auto (got {writer!r})", field="writer")
    return writer


async def write_script(
    db: Database,
    settings: Settings,
    request: ScriptRequest,
    *,
    writer: str | None = None,
    llm: LLMClient | None = None,
    cache: ScriptCache | None = None,
) -> ScriptResult:
    """Write (or fetch from the cache) the script for this request."""
    chosen = choose_writer(settings, writer)
    if chosen == "llm":
        model: str | None = llm.model if llm is not None else settings.llm_model
        prompt_version = pswa_llm.PROMPT_VERSION
    else:
        model, prompt_version = None, pswa_offline.PROMPT_VERSION
    key = cache_key(request, writer=chosen, model=model, prompt_version=prompt_version)
    cache = cache or open_cache(settings, db)
    entry = await cache.hit(key)
    if entry is not None:
        Script.model_validate(entry.script)  # a cached script must still be a valid script
        return ScriptResult(entry.script, True, key, entry.writer, entry.model, entry.token_usage)

    usage: dict[str, Any] | None = None
    if chosen == "llm":
        own = llm is None
        client = llm or LLMClient.from_settings(await with_stored_secrets(db, settings))
        try:
            script, tokens = await pswa_llm.write_llm(client, request)
        finally:
            if own:
                await client.aclose()
        usage = tokens.as_dict()
    else:
        script = pswa_offline.write_offline(request)
    content = script.model_dump(mode="json")
    await cache.put(
        CacheEntry(
            cache_key=key,
            topic_hash=topic_hash(request),
            writer=chosen,
            model=model,
            prompt_version=prompt_version,
            script=content,
            token_usage=usage,
        )
    )
    return ScriptResult(content, False, key, chosen, model, usage)


@tasks.task("pswa.write_script", agent="pswa")
async def write_script_task(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        request = ScriptRequest.parse(payload, ctx.settings)
        result = await write_script(ctx.db, ctx.settings, request)
    except ValidationFailed as exc:
        raise PermanentError(str(exc)) from exc
    return result.as_dict()
