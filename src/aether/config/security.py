"""Security: the master key of the credential key ring, the database role of pooled connections, refreshes.

AETHER_MASTER_KEY must be base64 (standard or URL-safe) of exactly 32 bytes; AETHER_DATABASE_ROLE a lower-case
role name, or empty / `none` for the URL's user everywhere.
"""

from __future__ import annotations

import base64
import binascii
import re

from pydantic import Field, SecretStr, field_validator

from aether.config.base import Section

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class SecuritySettings(Section):
    heading = "Security: credentials, key ring, database role"

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
        if not ROLE_NAME.fullmatch(value.strip()):
            raise ValueError("must be a role name of lower-case letters, digits and _ (e.g. aether_app)")
        return value.strip()
