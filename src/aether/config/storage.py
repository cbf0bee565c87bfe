"""Object storage: where episodes' files go (unset = AETHER_HOME/objects)."""

from __future__ import annotations

from pydantic import Field, field_validator

from aether.config.base import Section, check_scheme


class StorageSettings(Section):
    heading = "Object storage"

    storage_url: str | None = Field(
        None,
        description="Object store: unset = AETHER_HOME/objects; file:///dir, gs://bucket/prefix or s3://bucket/prefix "
        "(credentials from the usual GOOGLE_*/AWS_* variables).",
    )

    @field_validator("storage_url")
    @classmethod
    def _check_storage_url(cls, value: str | None) -> str | None:
        return check_scheme(value, ("file", "gs", "s3", "memory"))
