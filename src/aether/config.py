"""Settings: every one is an AETHER_* environment variable.

Sources, strongest first: keyword arguments, the environment, a `.env` file in the working
directory, `AETHER_HOME/aether.toml`, then the defaults below.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from aether.errors import ConfigError

DEFAULT_HOME = Path("./.aether")


def home_from_env() -> Path:
    """AETHER_HOME as the environment gives it (the TOML file lives there, so it is read first)."""
    return Path(os.environ.get("AETHER_HOME", str(DEFAULT_HOME)))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AETHER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    # --- where things live -------------------------------------------------------------------
    home: Path = Field(DEFAULT_HOME, description="Directory for the embedded database, objects, keys, backups.")

    # --- database ----------------------------------------------------------------------------
    database_url: SecretStr | None = Field(
        None, description="PostgreSQL URL (postgresql://user:pass@host:port/db); unset = embedded server."
    )
    database_replica_url: SecretStr | None = Field(
        None, description="Optional read replica URL; read-only queries (analytics, lists) go there."
    )
    pool_min_size: int = Field(5, ge=0, le=1000, description="Connections kept open per process.")
    pool_max_size: int = Field(20, ge=1, le=1000, description="Most connections per process.")
    pool_timeout: float = Field(30.0, gt=0, le=3600, description="Seconds to wait for a free connection.")
    database_prepare_threshold: int | None = Field(
        5,
        ge=0,
        description="Executions after which a query is prepared server-side; empty or `none` disables it "
        "(PgBouncer before 1.21 in transaction mode).",
    )
    database_listen: bool = Field(
        True, description="Use LISTEN/NOTIFY to wake workers; false behind PgBouncer transaction mode."
    )
    slow_query_ms: float = Field(500.0, ge=0, description="Queries slower than this are logged by name.")

    # --- processes ---------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address the gateway listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the gateway listens on.")
    api_workers: int = Field(
        0, ge=0, le=256, description="Processes `aether api` runs, sharing its port (0 = one per core)."
    )
    public_url: str | None = Field(None, description="Public base URL for links in feeds and mails.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    log_format: Literal["json", "text"] = Field("text", description="Log line format.")

    # --- publishing and analytics ------------------------------------------------------------
    telegram_api_url: str = Field("https://api.telegram.org", description="Telegram Bot API base URL.")
    youtube_api_url: str = Field(
        "https://www.googleapis.com/youtube/v3", description="YouTube Data API v3 base URL (thumbnails, videos)."
    )
    youtube_upload_url: str = Field(
        "https://www.googleapis.com/upload/youtube/v3", description="YouTube Data API v3 media upload base URL."
    )
    google_token_url: str = Field(
        "https://oauth2.googleapis.com/token", description="Google OAuth 2.0 token endpoint (refresh grant)."
    )
    websub_hub_url: str | None = Field(None, description="WebSub hub pinged when a show's feed changes; unset = off.")
    publish_timeout_s: float = Field(60.0, gt=0, le=3600, description="Seconds per HTTP request to a platform.")
    publish_max_retries: int = Field(5, ge=0, le=50, description="Retries of a platform call (429, 5xx, network).")
    youtube_chunk_bytes: int = Field(
        8 * 1024 * 1024,
        ge=256 * 1024,
        multiple_of=256 * 1024,
        description="YouTube resumable upload chunk size (a multiple of 256 KiB).",
    )
    analytics_partitions_ahead: int = Field(
        3, ge=0, le=120, description="Monthly analytics partitions maintenance creates ahead of time."
    )
    analytics_retention_months: int = Field(
        24, ge=1, le=1200, description="Whole months of analytics kept; older partitions are dropped."
    )

    # --- gateway -----------------------------------------------------------------------------
    session_ttl_hours: float = Field(
        336.0, gt=0, le=24 * 365, description="Hours a login session lives without use (renewed on every use)."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body the API accepts; larger ones get 413."
    )
    session_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=60,
        description="Seconds a gateway process trusts a checked session token (0 = check every time); "
        "logouts and changes reach every process at once through LISTEN/NOTIFY.",
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins per email and address within the window before 429."
    )
    login_window_seconds: int = Field(900, ge=1, description="Window for counting failed logins, in seconds.")
    list_cache_seconds: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="Seconds a gateway process serves a rendered page of a show's episode list from memory at most "
        "(0 = off); any change to the show's episodes drops it at once through LISTEN/NOTIFY.",
    )
    feed_cache_seconds: float = Field(
        5.0, ge=0, le=3600, description="Seconds a generated RSS feed is served from memory before re-checking."
    )
    smtp_url: SecretStr | None = Field(
        None,
        description="SMTP server for mails: smtp://user:pass@host:587 (STARTTLS when offered), smtps://host:465; "
        "unset = mails are written to the log only.",
    )
    smtp_from: str = Field("Aether <aether@localhost>", description="From address of every mail.")
    demo_content: bool = Field(
        True, description="`aether up` creates a demo show and its first episode on an empty installation."
    )

    # --- content agents I: topic discovery (TDA), snippets (SCA), scripts (PSWA), LLM -------------
    tda_fetch_timeout: float = Field(
        15.0, gt=0, le=600, description="Seconds one feed or article fetch may take in all (connect to last byte)."
    )
    tda_max_bytes: int = Field(
        10_485_760, ge=1024, description="Largest feed or article body read (decoded bytes); larger ones are aborted."
    )
    tda_host_interval: float = Field(
        1.0, ge=0, le=600, description="Seconds between two requests to the same host (politeness)."
    )
    tda_concurrency: int = Field(8, ge=1, le=256, description="Feeds and articles fetched at the same time.")
    tda_max_items_per_feed: int = Field(50, ge=1, le=10_000, description="Newest entries read from each feed.")
    tda_fetch_articles: bool = Field(
        True, description="Fetch the article page when a feed entry carries only a short summary."
    )
    tda_user_agent: str = Field(
        "Aether/0.1 (+https://github.com/aether; topic discovery)", description="User-Agent of feed requests."
    )
    tda_freshness_half_life_hours: float = Field(
        24.0, gt=0, description="Age in hours at which a story's freshness score halves."
    )
    tda_merge_window_days: float = Field(
        3.0, ge=0, description="Stories up to this many days old are merged with new items about the same story."
    )
    sca_summarizer: Literal["auto", "extractive", "llm"] = Field(
        "auto", description="Snippet summaries: extractive (LexRank), llm, or auto (llm when AETHER_LLM_BASE_URL set)."
    )
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
    script_show_title: str = Field("Aether Daily", min_length=1, description="Show title used in scripts.")
    script_language: str = Field("en", min_length=2, max_length=16, description="Default script language (BCP 47).")
    script_hosts: list[dict[str, str]] = Field(
        default_factory=lambda: [
            {"name": "Alex", "persona": "curious lead host who introduces each story"},
            {"name": "Sam", "persona": "analytical co-host who adds the details"},
        ],
        description='Hosts as JSON: [{"name": "Alex", "persona": "..."}, ...] (one to four).',
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible API base URL, e.g. http://127.0.0.1:11434/v1; unset = offline writers."
    )
    llm_model: str = Field("gpt-4o-mini", min_length=1, description="Model name sent to the chat-completions API.")
    llm_api_key: SecretStr | None = Field(None, description="Bearer token for the LLM API (never logged).")
    llm_timeout: float = Field(120.0, gt=0, le=3600, description="Seconds one chat-completions request may take.")
    llm_max_retries: int = Field(3, ge=0, le=10, description="Retries (with exponential back-off) on 429/5xx/network.")
    llm_json_mode: Literal["json_schema", "json_object", "none"] = Field(
        "json_schema", description="How structured output is requested: response_format json_schema, json_object, none."
    )
    llm_temperature: float = Field(0.3, ge=0, le=2, description="Sampling temperature for script and snippet writing.")

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

    @field_validator("llm_base_url")
    @classmethod
    def _check_llm_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL, e.g. http://127.0.0.1:11434/v1")
        return value.strip().rstrip("/")

    # --- content agents II: object storage, voice (VFA), music, cover art (IGA), video -----------
    storage_url: str | None = Field(
        None,
        description="Object store: unset = AETHER_HOME/objects; file:///dir, gs://bucket/prefix or s3://bucket/prefix "
        "(credentials from the usual GOOGLE_*/AWS_* variables).",
    )
    tts_voice_model: Path | None = Field(
        None, description="Piper voice (.onnx, its .onnx.json beside it) for every host; unset = the bundled joe voice."
    )
    tts_host_voices: list[dict[str, Any]] = Field(
        default_factory=lambda: [{}, {"pitch": 1.21, "tempo": 1.04, "noise_scale": 0.55, "noise_w": 0.7}],
        description='Per-host voice settings by host order, JSON: [{"model": "/x.onnx", "pitch": 1.0, "tempo": 1.0, '
        '"noise_scale": 0.667, "noise_w": 0.8, "volume_db": 0}, ...]; hosts beyond the list reuse it cyclically.',
    )
    tts_threads: int = Field(0, ge=0, le=256, description="Speech synthesis threads; 0 = one per CPU core.")
    audio_loudness_lufs: float = Field(-16.0, ge=-36, le=-6, description="Integrated loudness of the master (LUFS).")
    audio_true_peak_dbtp: float = Field(-1.0, ge=-12, le=0, description="Highest true peak of the encodings (dBTP).")
    audio_mp3_bitrate: int = Field(96, ge=32, le=320, description="MP3 bit rate in kbit/s (mono, 44.1 kHz).")
    audio_opus_bitrate: int = Field(48, ge=16, le=256, description="Ogg Opus bit rate in kbit/s.")
    music_enabled: bool = Field(True, description="Mix the generated music bed and stings under the speech.")
    images_base_url: str | None = Field(
        None, description="OpenAI-compatible images API base URL (…/v1); unset = procedural cover art offline."
    )
    images_api_key: SecretStr | None = Field(None, description="Bearer token for the images API (never logged).")
    images_model: str = Field("gpt-image-1", min_length=1, description="Model name sent to the images API.")
    images_timeout: float = Field(120.0, gt=0, le=3600, description="Seconds one image generation request may take.")
    video_fps: int = Field(6, ge=1, le=60, description="Frame rate of rendered videos.")
    video_preset: Literal[
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"
    ] = Field("ultrafast", description="x264 preset of rendered videos (slower = smaller files).")
    video_crf: int = Field(27, ge=0, le=51, description="x264 constant rate factor (lower = better, larger).")
    video_clip_max_s: float = Field(60.0, ge=5, le=180, description="Longest vertical clip in seconds.")
    media_font: Path | None = Field(
        None, description="TrueType/OpenType font for covers and captions; unset = Pillow's bundled Aileron."
    )

    @field_validator("storage_url", "images_base_url")
    @classmethod
    def _check_media_urls(cls, value: str | None, info: Any) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        allowed = ("file", "gs", "s3", "memory") if info.field_name == "storage_url" else ("http", "https")
        if parts.scheme not in allowed:
            raise ValueError(f"must be a URL with scheme {', '.join(s + '://' for s in allowed)} (got {value!r})")
        return value.strip().rstrip("/") if info.field_name == "images_base_url" else value.strip()

    @field_validator("tts_host_voices")
    @classmethod
    def _check_host_voices(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        known = {"model", "pitch", "tempo", "noise_scale", "noise_w", "volume_db"}
        for index, voice in enumerate(value):
            if not isinstance(voice, dict):
                raise ValueError(f"entry {index} must be a JSON object")
            unknown = sorted(set(voice) - known)
            if unknown:
                raise ValueError(f"entry {index} has unknown keys {unknown} (known: {sorted(known)})")
            for key in ("pitch", "tempo"):
                if key in voice and not (isinstance(voice[key], int | float) and 0.5 <= float(voice[key]) <= 2.0):
                    raise ValueError(f"entry {index}: {key} must be a number from 0.5 to 2.0")
        return value

    # --- queue: workers and scheduler ------------------------------------------------------------
    queue_lease_s: float = Field(
        30.0, gt=0, le=86400, description="Seconds a claimed task's lease lasts; heartbeats renew it every third."
    )
    queue_rescue_interval_s: float = Field(
        2.0, gt=0, le=3600, description="Seconds between looks for running tasks whose lease expired (rescue)."
    )
    queue_retry_base_s: float = Field(
        2.0, ge=0, le=86400, description="First retry delay; doubles each attempt, with jitter (x0.5-1)."
    )
    queue_retry_max_s: float = Field(600.0, ge=0, le=7 * 86400, description="Longest retry delay.")
    queue_poll_interval_s: float = Field(
        1.0, gt=0, le=600, description="Idle workers look for due tasks this often besides LISTEN/NOTIFY."
    )
    worker_concurrency: int = Field(10, ge=1, le=10000, description="Tasks one worker process runs at once.")
    worker_agents: str = Field("", description="Comma-separated agents a worker serves; empty = every agent.")
    worker_handler_modules: str = Field(
        "", description="Comma-separated extra modules a worker imports to register task handlers."
    )
    worker_cpu_pool: Literal["process", "thread"] = Field(
        "process", description="Where ctx.run_cpu runs CPU-bound work: a process pool or a thread pool."
    )
    worker_cpu_workers: int | None = Field(
        None, ge=1, le=256, description="Size of the CPU pool; unset = the number of CPU cores."
    )
    worker_shutdown_timeout_s: float = Field(
        60.0, ge=0, le=86400, description="On SIGTERM, seconds to let tasks in hand finish before stopping them."
    )
    worker_cancel_grace_s: float = Field(
        10.0, ge=0, le=86400, description="Seconds a cancelled running handler gets to stop by itself."
    )
    scheduler_interval_s: float = Field(
        1.0, gt=0, le=3600, description="Seconds between the scheduler's looks at periodic task schedules."
    )

    # --- idempotency ---------------------------------------------------------------------------
    idempotency_ttl_hours: float = Field(
        24.0, gt=0, le=24 * 365, description="Hours an HTTP Idempotency-Key is remembered (replays), then pruned."
    )
    idempotency_task_ttl_hours: float = Field(
        168.0,
        gt=0,
        le=24 * 365,
        description="Hours a task side effect's record (ctx.once) is kept, so late retries still replay it.",
    )
    idempotency_lock_seconds: float = Field(
        60.0,
        gt=0,
        le=86400,
        description="Seconds an in-flight claim holds a key (renewed while it runs); a crashed holder's "
        "claim is taken over after this.",
    )

    # --- operations: backups, maintenance, monitoring ------------------------------------------
    backup_offsite_url: str | None = Field(
        None,
        description="Second location for backup copies: a directory, file://, gs://bucket/prefix or s3://bucket/prefix.",
    )
    backup_retain_full: int = Field(
        7, ge=1, le=1000, description="Full backups kept (each with its incrementals); older ones and their WAL go."
    )
    backup_full_interval_hours: float = Field(
        24.0, gt=0, le=24 * 365, description="`aether backup create` makes a full backup when the last is this old."
    )
    retention_tasks_days: float = Field(30.0, gt=0, description="Finished tasks older than this are pruned.")
    retention_workflows_days: float = Field(90.0, gt=0, description="Finished workflows older than this are pruned.")
    retention_audit_days: float = Field(365.0, gt=0, description="Audit rows older than this are pruned (audited).")
    retention_logs_days: float = Field(14.0, gt=0, description="Embedded server log files older than this go.")

    # --- security: credentials, key ring, database role ----------------------------------------
    master_key: SecretStr | None = Field(
        None,
        description="Master key wrapping the credential data keys: base64 of 32 random bytes; "
        "unset = AETHER_HOME/master.key (created with mode 0600 on first use).",
    )
    database_role: str | None = Field(
        None,
        description="Role that pooled connections switch to (SET ROLE). Unset: aether_app for the gateway and "
        "workers (`aether api`, `aether worker`, `aether up`, `aether demo`), the URL's user for everything else; "
        "empty or `none`: the URL's user everywhere. Migrations, maintenance and backups always run as the URL's user.",
    )
    credential_refresh_ahead_s: float = Field(
        300.0, ge=0, le=86400, description="Refresh a refreshable credential this many seconds before it expires."
    )
    key_rotation_batch_size: int = Field(
        100, ge=1, le=100_000, description="Credentials re-sealed per transaction by `aether credentials rotate-key`."
    )

    @field_validator("master_key")
    @classmethod
    def _check_master_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        import base64
        import binascii

        raw = value.get_secret_value().strip()
        try:
            decoded = base64.b64decode(raw.translate(str.maketrans("-_", "+/")), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64 of 32 bytes (e.g. `openssl rand -base64 32`)") from None
        if len(decoded) != 32:
            raise ValueError(f"must be base64 of exactly 32 bytes (it decodes to {len(decoded)})")
        return SecretStr(raw)

    @field_validator("database_role")
    @classmethod
    def _check_database_role(cls, value: str | None) -> str | None:
        if value is None or not value.strip() or value.strip().lower() == "none":
            return None
        import re

        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value.strip()):
            raise ValueError("must be a role name of lower-case letters, digits and _ (e.g. aether_app)")
        return value.strip()

    @field_validator("database_prepare_threshold", mode="before")
    @classmethod
    def _check_prepare_threshold(cls, value: Any) -> Any:
        """`AETHER_DATABASE_PREPARE_THRESHOLD=` (empty) or `none` turns server-side prepared statements off."""
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "off")):
            return None
        return value

    @field_validator("database_url", "database_replica_url")
    @classmethod
    def _check_url(cls, value: SecretStr | None, info: Any) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        raw = value.get_secret_value().strip()
        field = f"AETHER_{info.field_name.upper()}"
        parts = urlsplit(raw)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(
                f"{field} must be a postgresql:// URL (got scheme {parts.scheme or 'none'!r} in {mask_url(raw)})"
            )
        try:
            _ = parts.port
        except ValueError as exc:
            raise ValueError(f"{field} has an invalid port in {mask_url(raw)}") from exc
        if not parts.path.strip("/") and "dbname=" not in parts.query:
            raise ValueError(f"{field} must name a database, e.g. postgresql://user@host:5432/aether")
        return SecretStr(raw)

    @field_validator("pool_max_size")
    @classmethod
    def _check_pool(cls, value: int, info: Any) -> int:
        minimum = info.data.get("pool_min_size", 0)
        if value < minimum:
            raise ValueError(f"must be at least AETHER_POOL_MIN_SIZE ({minimum})")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=home_from_env() / "aether.toml")
        return (init_settings, env_settings, dotenv_settings, toml, file_secret_settings)

    # --- derived -----------------------------------------------------------------------------
    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def pgdata(self) -> Path:
        return self.home.resolve() / "pgdata"

    def public_report(self) -> dict[str, Any]:
        """The effective settings as AETHER_* names, with every secret masked."""
        report: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                raw = value.get_secret_value()
                value = mask_url(raw) if "://" in raw else mask_secret(raw)
            elif isinstance(value, Path):
                value = str(value)
            report[f"AETHER_{name.upper()}"] = value
        return report


def mask_secret(value: str) -> str:
    """`sk-live-123456abcd` -> `sk-...abcd`; short values are masked whole."""
    if len(value) < 12:
        return "****"
    return f"{value[:3]}...{value[-4:]}"


def mask_url(url: str) -> str:
    """Replace the password of a URL (and any password= query item) with ****."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:****@{hostport}"
    query = "&".join(
        "password=****" if item.lower().startswith("password=") else item for item in parts.query.split("&")
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query if parts.query else "", parts.fragment))


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning pydantic's errors into one clear ConfigError naming the variable."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "_".join(str(part) for part in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"AETHER_{name.upper()}: {message}", field=f"AETHER_{name.upper()}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
