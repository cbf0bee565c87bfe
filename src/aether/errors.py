"""Errors that reach a person: each names what is wrong and, where there is one, the field."""

from __future__ import annotations


class AetherError(Exception):
    """Base for every error Aether reports to a user (CLI: one line, exit 1; API: 4xx/5xx JSON)."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class ConfigError(AetherError):
    """A setting has a value that breaks a rule; the field is the AETHER_* variable."""

    code = "invalid_config"


class ValidationFailed(AetherError):
    """Input from a user breaks a rule; the field names the input."""

    code = "invalid"
    http_status = 422


class NotFound(AetherError):
    code = "not_found"
    http_status = 404


class Conflict(AetherError):
    code = "conflict"
    http_status = 409


class DatabaseUnavailable(AetherError):
    """PostgreSQL cannot be reached; the message names host and database with the password masked."""

    code = "database_unavailable"
    http_status = 503
    retry_after = 5  # seconds; the gateway sends it as Retry-After (a restart or fail-over takes seconds)


class MigrationError(AetherError):
    code = "migration_error"
    http_status = 500
