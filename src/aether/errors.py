"""Every error Aether reports: one hierarchy under `AetherError`.

Each class's docstring is its default message (as in procrastinate's exceptions): raise it bare when the
default says it all, or with a message that names what is wrong and, where there is one, the field
(`field=` names the input, the setting or the part). `code` is the machine-readable name of the kind of
error. The CLI prints the message on one line and exits 1; the gateway maps each class to its HTTP status
in one place (`aether.gateway.errors.HTTP_STATUS`). Nothing here knows about HTTP.
"""

from __future__ import annotations

from typing import Any


class AetherError(Exception):
    """Something went wrong in Aether."""

    code = "error"

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        if not message:
            message = " ".join((self.__doc__ or type(self).__name__).split("\n\n")[0].split())
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


# ---- input and state -----------------------------------------------------------------------------


class ConfigError(AetherError):
    """A setting has a value that breaks a rule; the field is the AETHER_* variable."""

    code = "invalid_config"


class ValidationFailed(AetherError):
    """The input breaks a rule."""

    code = "invalid"


_PATTERN_RULES: dict[str, str] = {}


def pattern_rule(pattern: str, words: str) -> str:
    """Declare what `pattern` asks for, in words ("a language code such as en or en-US"); returns the
    pattern, so a model declares both at once: `Field(pattern=pattern_rule(r"^...$", "..."))`."""
    _PATTERN_RULES[pattern] = words
    return pattern


def rule_in_words(error: Any) -> str:
    """The rule one pydantic error (an item of `ValidationError.errors()`) says was broken, in words:
    never a regular expression (a pattern without declared words reads "is not in the accepted form")."""
    if error.get("type") == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        words = _PATTERN_RULES.get(pattern)
        return f"must be {words}" if words else "is not in the accepted form"
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


def invalid(exc: Any, *, default_field: str = "payload") -> ValidationFailed:
    """The first error of a pydantic ValidationError as one ValidationFailed: the field as a path
    (`snippets[0].headline`) and the rule in words."""
    error = exc.errors()[0]
    field = ""
    for part in error.get("loc", ()):
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    field = field or default_field
    return ValidationFailed(f"{field}: {rule_in_words(error)}", field=field)


class DefinitionError(ValidationFailed):
    """A workflow definition breaks a rule; the field names the part (e.g. `steps[2].after`)."""


class InputError(AetherError):
    """A step's input refers to a parameter or an output key that does not exist."""

    code = "invalid_input"


class BadRequest(AetherError):
    """The request cannot be read."""

    code = "bad_request"


class NotFound(AetherError):
    """There is no such thing."""

    code = "not_found"


class Conflict(AetherError):
    """The thing is not in a state that allows this."""

    code = "conflict"


class PreconditionFailed(Conflict):
    """The thing changed since you read it: read it again and redo your change."""

    code = "precondition_failed"


class PreconditionRequired(AetherError):
    """Say which version you change: send If-Match with the version you read."""

    code = "precondition_required"


class Unauthorized(AetherError):
    """Log in first: send a bearer token or the session cookie."""

    code = "unauthorized"


class Forbidden(AetherError):
    """This is not allowed for this account."""

    code = "forbidden"


class RangeNotSatisfiable(AetherError):
    """The requested byte range lies outside the object."""

    code = "range_not_satisfiable"


class PayloadTooLarge(AetherError):
    """The request body is larger than the limit."""

    code = "payload_too_large"


class RateLimited(AetherError):
    """Too many attempts; try again later."""

    code = "rate_limited"

    def __init__(self, message: str | None = None, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


# ---- services Aether depends on ----------------------------------------------------------------


class Unavailable(AetherError):
    """A service Aether needs is unavailable; try again shortly."""

    code = "unavailable"


class DatabaseUnavailable(Unavailable):
    """PostgreSQL cannot be reached; try again shortly."""

    code = "database_unavailable"
    retry_after = 5  # seconds a client should wait: a restart or fail-over takes seconds


class EmbeddedServerError(Unavailable):
    """The embedded PostgreSQL server could not be started or stopped."""

    code = "embedded_server_error"


class WorkflowUnavailable(Unavailable):
    """Episodes cannot be made here: the episode workflow is not available."""

    code = "workflow_unavailable"


class MailError(Unavailable):
    """The mail could not be sent."""

    code = "mail_failed"


class MigrationError(AetherError):
    """The database schema cannot be brought up to date."""

    code = "migration_error"


class OpsError(AetherError):
    """A backup, restore or maintenance step failed."""

    code = "ops_error"


# ---- secrets ---------------------------------------------------------------------------------------


class CryptoError(AetherError):
    """A sealed value cannot be opened: tampered, moved to another row, or sealed by another key."""

    code = "crypto_error"


class KeyRetired(CryptoError):
    """A value names a data key that rotation has retired meanwhile (readers re-read the row)."""


class MasterKeyError(AetherError):
    """The master key is missing, malformed, or not the one that wrapped the data keys."""

    code = "master_key_error"


class CredentialExpired(AetherError):
    """The credential is past its expiry and could not be refreshed: a person must issue a new one."""

    code = "credential_expired"


# ---- engines behind the agents ---------------------------------------------------------------------


class ProviderError(AetherError):
    """An engine behind an agent failed (after retries) or refused the request."""

    code = "provider_error"

    def __init__(self, message: str | None = None, *, field: str | None = None, retryable: bool = False) -> None:
        super().__init__(message, field=field)
        self.retryable = retryable


class LLMError(ProviderError):
    """The LLM API failed (after retries) or refused the request."""

    code = "llm_error"


class LLMInvalidOutput(LLMError):
    """The model's reply was not valid JSON for the schema, even after the repair retry."""

    code = "llm_invalid_output"


class InvalidReply(AetherError, ValueError):
    """The model's reply breaks the schema (raised by the `validate` callable of a JSON chat)."""

    code = "invalid_reply"


class ImagesError(ProviderError):
    """The images API failed (after retries) or refused the request."""

    code = "images_error"

    def __init__(self, message: str | None = None, *, field: str | None = None, retryable: bool = True) -> None:
        super().__init__(message, field=field, retryable=retryable)


class SpeechError(ProviderError):
    """The speech API failed (after retries) or refused the request."""

    code = "speech_error"


class FfmpegError(AetherError):
    """ffmpeg failed; the message holds the end of its log."""

    code = "ffmpeg_error"


class FeedError(AetherError):
    """The document is not a usable feed."""

    code = "feed_error"


class UnsafeAddress(AetherError):
    """The address is not a public one: Aether fetches nothing from loopback, private, link-local, multicast
    or reserved addresses unless AETHER_FETCH_ALLOW_PRIVATE=true."""

    code = "unsafe_address"


# ---- tasks -------------------------------------------------------------------------------------------


class PermanentError(AetherError):
    """A failure that retrying cannot fix (bad input, revoked credentials): the task fails at once."""

    code = "permanent"


class NoMaterial(PermanentError):
    """Nothing in the sources can make this episode."""

    code = "no_material"


class NoSources(NoMaterial):
    """The show has no sources and none were given with the episode."""

    code = "no_sources"


class SourcesFailed(NoMaterial):
    """None of the sources answered."""

    code = "sources_failed"


class NoMatchingStory(NoMaterial):
    """No story in the sources matches the topic."""

    code = "no_matching_story"


class TaskCancelled(AetherError):
    """The task was cancelled."""

    code = "cancelled"


class HookFailed(AetherError):
    """A completion hook raised: the batch it ran in is rolled back and its task's attempt fails."""

    code = "hook_failed"

    def __init__(self, task_id: int, cause: BaseException, tb: str) -> None:
        super().__init__(str(cause) or type(cause).__name__)
        self.task_id = task_id
        self.cause = cause
        self.tb = tb


class IdempotencyBusy(AetherError):
    """Another attempt is running this side effect right now; try again later."""

    code = "busy"


class PlatformUnavailable(AetherError):
    """The platform kept failing (5xx, 429, network) after every retry; the task is retried later."""

    code = "platform_unavailable"


class PlatformRejected(PermanentError):
    """The platform refused the request for good (bad request, unknown chat, ...)."""

    def __init__(self, message: str | None = None, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class AgentDisabled(PermanentError):
    """Credentials rejected (401/403) or quota exhausted: the agent was marked `error`."""


class PlatformAuthError(AetherError):
    """The platform rejected the credentials (401/403): the token is wrong, revoked or lacks a scope."""

    code = "platform_auth"


class QuotaExceeded(AetherError):
    """The platform's quota (or the channel's upload limit) is used up."""

    code = "quota_exceeded"


class SessionExpired(AetherError):
    """The resumable upload session is gone (404/410): a new one must be created."""

    code = "session_expired"
