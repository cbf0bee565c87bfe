"""Credentials encrypted at rest: add, list (masked), remove, and the plaintext for the one process that
uses it.

Each value is sealed with AES-256-GCM under the key ring's active data key, bound to its row's identity
(agent, platform, credential key). Nothing here returns plaintext except `get_secret` / `find_secret`,
which agents and providers call at the moment they need the secret. A value past `expires_at` is never
returned; a platform that can refresh (YouTube OAuth) registers a refresher with `@refresher(...)`, and
`get_secret` refreshes ahead of expiry (AETHER_CREDENTIAL_REFRESH_AHEAD_S) and stores the new value.

    from aether.security.credentials import get_secret
    token = await get_secret(ctx.db, ctx.settings, agent="telegram", platform="telegram", key="bot_token")
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aether.config import Settings, get_settings, mask_secret
from aether.db import AsyncConnection, Database, load_queries
from aether.errors import AetherError, Conflict, CredentialExpired, CryptoError, KeyRetired, NotFound, ValidationFailed
from aether.security import crypto
from aether.security.keys import KeyRing, key_ring

Q = load_queries(__file__, "credentials.sql")
log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
PLATFORM_MAX = 50
KEY_MAX = 100
VALUE_MAX_BYTES = 64 * 1024
READ_ATTEMPTS = 3


@dataclass(frozen=True)
class Credential:
    """What the API and CLI show of a credential: never the plaintext, only a masked form."""

    id: int
    agent_id: int | None
    agent: str | None
    platform: str
    credential_key: str
    masked: str
    data_key_id: str
    expires_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    error: str | None = None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utc_now()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent": self.agent,
            "platform": self.platform,
            "key": self.credential_key,
            "value": self.masked,
            "data_key_id": self.data_key_id,
            "expires_at": _iso(self.expires_at),
            "expired": self.expired,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "error": self.error,
        }


@dataclass(frozen=True)
class RefreshRequest:
    """What a refresher gets: the expiring value and every credential of the same agent and platform."""

    agent: str | None
    platform: str
    credential_key: str
    value: str
    expires_at: datetime | None
    secrets: Mapping[str, str]
    settings: Settings


@dataclass(frozen=True)
class Refreshed:
    """A refresher's answer: the new value, its expiry, and other keys to store (e.g. a rotated refresh token)."""

    value: str
    expires_at: datetime | None
    extra: Mapping[str, str] = field(default_factory=dict)


Refresher = Callable[[RefreshRequest], Awaitable[Refreshed]]
REFRESHERS: dict[tuple[str, str], Refresher] = {}


def refresher(platform: str, credential_key: str) -> Callable[[Refresher], Refresher]:
    """Register how to refresh (platform, credential_key), e.g. `@refresher("youtube", "access_token")`."""

    def register(fn: Refresher) -> Refresher:
        REFRESHERS[(platform, credential_key)] = fn
        return fn

    return register


# ---- helpers ------------------------------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc_naive(value: datetime | None) -> datetime | None:
    """Database timestamps are naive UTC; an aware time is converted, a naive one is taken as UTC."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=UTC).isoformat()


def describe(agent: str | None, platform: str, key: str) -> str:
    return f"{agent or '(shared)'}/{platform}/{key}"


def check_name(value: str, *, field: str, maximum: int) -> str:
    if not value or len(value) > maximum or not NAME_PATTERN.match(value):
        raise ValidationFailed(
            f"{field} must be 1-{maximum} lower-case letters, digits, '_', '.' or '-' starting with a letter "
            f"or digit (got {value!r})",
            field=field,
        )
    return value


def check_value(value: str) -> str:
    if not value:
        raise ValidationFailed("value must not be empty", field="value")
    if "\x00" in value:
        raise ValidationFailed("value must not contain NUL characters", field="value")
    if len(value.encode("utf-8")) > VALUE_MAX_BYTES:
        raise ValidationFailed(f"value must be at most {VALUE_MAX_BYTES} bytes", field="value")
    return value


def seal_value(key_id: str, key: bytes, agent_id: int | None, platform: str, credential_key: str, value: str) -> str:
    context = crypto.credential_context(agent_id, platform, credential_key)
    return str(crypto.seal(key, key_id, value.encode("utf-8"), context))


def _what(row: Mapping[str, Any]) -> str:
    return f"credential {row['id']} ({row['platform']}/{row['credential_key']})"


def open_value(row: Mapping[str, Any], key: bytes) -> str:
    sealed = crypto.parse(row["credential_value"])
    context = crypto.credential_context(row["agent_id"], row["platform"], row["credential_key"])
    return crypto.open_sealed(key, sealed, context, what=_what(row)).decode("utf-8")


def reseal_value(row: Mapping[str, Any], old_key: bytes, new_key: bytes, new_key_id: str) -> str:
    """Rotation: open under the old data key, seal under the new one (same row identity)."""
    plaintext = open_value(row, old_key)
    return seal_value(new_key_id, new_key, row["agent_id"], row["platform"], row["credential_key"], plaintext)


async def _plaintext(ring: KeyRing, conn: AsyncConnection, row: Mapping[str, Any]) -> str:
    try:
        sealed = crypto.parse(row["credential_value"])
    except CryptoError as exc:
        raise CryptoError(f"{_what(row)}: {exc.message}") from None
    return open_value(row, await ring.key(conn, sealed.key_id))


async def agent_id_for(conn: AsyncConnection, agent: str | None) -> int | None:
    if agent is None:
        return None
    row = await (await conn.execute(Q.agent_id_by_name, {"name": agent})).fetchone()
    if row is None:
        raise NotFound(f"no agent named {agent!r} (see `aether agents list`)", field="agent")
    return int(row["id"])


async def _masked(ring: KeyRing, conn: AsyncConnection, row: Mapping[str, Any]) -> Credential:
    error: str | None = None
    try:
        masked = mask_secret(await _plaintext(ring, conn, row))
    except AetherError as exc:
        masked, error = "<unreadable>", exc.message
    return Credential(
        id=row["id"],
        agent_id=row["agent_id"],
        agent=row["agent_name"],
        platform=row["platform"],
        credential_key=row["credential_key"],
        masked=masked,
        data_key_id=row["data_key_id"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        error=error,
    )


# ---- administration (API, CLI) -------------------------------------------------------------------


async def add_credential(
    conn: AsyncConnection,
    settings: Settings,
    *,
    agent: str | None,
    platform: str,
    key: str,
    value: str,
    expires_at: datetime | None = None,
    replace: bool = False,
) -> Credential:
    """Seal and store a value in the caller's transaction; an existing (agent, platform, key) is a
    Conflict unless `replace`."""
    check_name(platform, field="platform", maximum=PLATFORM_MAX)
    check_name(key, field="key", maximum=KEY_MAX)
    check_value(value)
    agent_id = await agent_id_for(conn, agent)
    ring = key_ring(settings)
    key_id, data_key = await ring.active(conn)
    params = {
        "agent_id": agent_id,
        "platform": platform,
        "key": key,
        "value": seal_value(key_id, data_key, agent_id, platform, key, value),
        "expires_at": to_utc_naive(expires_at),
    }
    row = await (await conn.execute(Q.replace_credential if replace else Q.insert_credential, params)).fetchone()
    if row is None:
        raise Conflict(
            f"credential {describe(agent, platform, key)} already exists; remove it or replace it "
            "(`--replace`, or replace=true)",
            field="key",
        )
    return await get_credential(conn, settings, int(row["id"]))


async def list_credentials(
    conn: AsyncConnection, settings: Settings, *, agent: str | None = None, platform: str | None = None
) -> list[Credential]:
    ring = key_ring(settings)
    rows = await (await conn.execute(Q.list_credentials, {"agent": agent, "platform": platform})).fetchall()
    return [await _masked(ring, conn, row) for row in rows]


async def get_credential(conn: AsyncConnection, settings: Settings, credential_id: int) -> Credential:
    row = await (await conn.execute(Q.credential_by_id, {"id": credential_id})).fetchone()
    if row is None:
        raise NotFound(f"no credential with id {credential_id}", field="id")
    return await _masked(key_ring(settings), conn, row)


async def find_credential_id(conn: AsyncConnection, *, agent: str | None, platform: str, key: str) -> int:
    agent_id = await agent_id_for(conn, agent)
    row = await (
        await conn.execute(Q.credential_by_identity, {"agent_id": agent_id, "platform": platform, "key": key})
    ).fetchone()
    if row is None:
        raise NotFound(f"no credential {describe(agent, platform, key)}", field="key")
    return int(row["id"])


async def remove_credential(conn: AsyncConnection, credential_id: int) -> None:
    row = await (await conn.execute(Q.delete_credential, {"id": credential_id})).fetchone()
    if row is None:
        raise NotFound(f"no credential with id {credential_id}", field="id")


async def expiring_credentials(conn: AsyncConnection, *, within: timedelta) -> list[dict[str, Any]]:
    """Credentials that expire within `within` (or already did), soonest first: for review after a restore."""
    rows = await (await conn.execute(Q.expiring_credentials, {"before": utc_now() + within})).fetchall()
    return [dict(r) for r in rows]


# ---- use (agents, providers) ---------------------------------------------------------------------


async def _pick(conn: AsyncConnection, agent: str | None, platform: str, key: str) -> dict[str, Any] | None:
    """The agent's own credential, else the shared one; with no agent, the shared one or the only one."""
    rows = await (
        await conn.execute(Q.credential_candidates, {"agent": agent, "platform": platform, "key": key})
    ).fetchall()
    if not rows:
        return None
    if agent is not None:
        return dict(rows[0])
    shared = [r for r in rows if r["agent_id"] is None]
    if shared:
        return dict(shared[0])
    if len(rows) > 1:
        owners = ", ".join(sorted(str(r["agent_name"]) for r in rows))
        raise ValidationFailed(
            f"several agents have a credential {platform}/{key} ({owners}): name the agent", field="agent"
        )
    return dict(rows[0])


async def _read(
    conn: AsyncConnection, ring: KeyRing, agent: str | None, platform: str, key: str
) -> tuple[dict[str, Any], str] | None:
    """The row and its plaintext; a value that rotation re-sealed meanwhile is read again."""
    for attempt in range(READ_ATTEMPTS):
        row = await _pick(conn, agent, platform, key)
        if row is None:
            return None
        try:
            return row, await _plaintext(ring, conn, row)
        except KeyRetired:
            if attempt == READ_ATTEMPTS - 1:
                raise
    return None


async def get_plaintext(
    conn: AsyncConnection,
    settings: Settings | None = None,
    *,
    platform: str,
    key: str,
    agent: str | None = None,
) -> str | None:
    """The plaintext of credential (agent, platform, key) for immediate use, or None when none is stored.

    The agent's own credential wins over a shared one (stored without an agent). A value past its expiry
    is refreshed when the platform has a refresher, else refused with CredentialExpired. Never log it."""
    settings = settings or get_settings()
    ring = key_ring(settings)
    found = await _read(conn, ring, agent, platform, key)
    if found is None:
        return None
    row, plaintext = found
    expires_at: datetime | None = row["expires_at"]
    if expires_at is None:
        return plaintext
    what = describe(row["agent_name"], platform, key)
    refresh = REFRESHERS.get((platform, key))
    if refresh is not None and expires_at - utc_now() <= timedelta(seconds=settings.credential_refresh_ahead_s):
        try:
            return await _refresh(conn, settings, ring, refresh, int(row["id"]))
        except Exception as exc:
            if expires_at > utc_now():
                log.warning("refreshing %s failed; it stays valid until %sZ: %s", what, expires_at.isoformat(), exc)
                return plaintext
            raise CredentialExpired(
                f"credential {what} expired at {expires_at.isoformat()}Z and refreshing it failed: {exc}", field="key"
            ) from exc
    if expires_at <= utc_now():
        raise CredentialExpired(
            f"credential {what} expired at {expires_at.isoformat()}Z; store a new value with `aether credentials "
            f"add{' --agent ' + row['agent_name'] if row['agent_name'] else ''} --platform {platform} --key {key} "
            "--replace`",
            field="key",
        )
    return plaintext


async def find_secret(
    db: Database | AsyncConnection, settings: Settings, *, agent: str | None, platform: str, key: str
) -> str | None:
    """`get_plaintext` on a pool (its own connection) or on the caller's connection."""
    if isinstance(db, Database):
        async with db.connection() as conn:
            return await get_plaintext(conn, settings, agent=agent, platform=platform, key=key)
    return await get_plaintext(db, settings, agent=agent, platform=platform, key=key)


async def get_secret(
    db: Database | AsyncConnection, settings: Settings, *, agent: str | None, platform: str, key: str
) -> str:
    """The plaintext of a credential for immediate use; NotFound (naming the CLI command) when none."""
    value = await find_secret(db, settings, agent=agent, platform=platform, key=key)
    if value is None:
        raise NotFound(
            f"no credential {describe(agent, platform, key)}; add it with `aether credentials add"
            f"{' --agent ' + agent if agent else ''} --platform {platform} --key {key}`",
            field="key",
        )
    return value


async def _refresh(
    conn: AsyncConnection, settings: Settings, ring: KeyRing, refresh: Refresher, credential_id: int
) -> str:
    """Refresh under a row lock, so that one process refreshes and the others get its result."""
    ahead = timedelta(seconds=settings.credential_refresh_ahead_s)
    async with conn.transaction():
        await conn.execute(Q.set_refresh_actor)
        row = await (await conn.execute(Q.credential_for_update, {"id": credential_id})).fetchone()
        if row is None:
            raise NotFound(f"credential {credential_id} was removed", field="key")
        current = await _plaintext(ring, conn, row)
        if row["expires_at"] is None or row["expires_at"] - utc_now() > ahead:
            return current  # another process refreshed it while we waited for the lock
        agent_id, platform, key = row["agent_id"], row["platform"], row["credential_key"]
        ident = {"agent_id": agent_id, "platform": platform}
        siblings = await (await conn.execute(Q.platform_credentials, ident)).fetchall()
        secrets = {r["credential_key"]: await _plaintext(ring, conn, r) for r in siblings}
        result = await refresh(
            RefreshRequest(row["agent_name"], platform, key, current, row["expires_at"], secrets, settings)
        )
        check_value(result.value)
        key_id, data_key = await ring.active(conn)
        await conn.execute(
            Q.update_credential_value,
            {
                "id": row["id"],
                "value": seal_value(key_id, data_key, agent_id, platform, key, result.value),
                "expires_at": to_utc_naive(result.expires_at),
            },
        )
        for extra_key, extra_value in result.extra.items():
            check_name(extra_key, field="key", maximum=KEY_MAX)
            await conn.execute(
                Q.replace_credential,
                {
                    "agent_id": agent_id,
                    "platform": platform,
                    "key": extra_key,
                    "value": seal_value(key_id, data_key, agent_id, platform, extra_key, check_value(extra_value)),
                    "expires_at": None,
                },
            )
        log.info(
            "refreshed credential %s (now valid until %s)",
            describe(row["agent_name"], platform, key),
            result.expires_at,
        )
        return result.value


# ---- secrets the providers read ----------------------------------------------------------------

LLM_API_KEY = ("llm", "api_key")
SMTP_PASSWORD = ("smtp", "password")


async def with_stored_secrets(db: Database | AsyncConnection, settings: Settings) -> Settings:
    """`settings` with the secrets the environment leaves out taken from the encrypted store: the LLM API
    key (platform `llm`, key `api_key`) when an LLM is configured without AETHER_LLM_API_KEY, and the SMTP
    password (platform `smtp`, key `password`) when AETHER_SMTP_URL names a user but no password. A value
    given in the environment always wins; plaintext only ever lives in the returned object."""
    from urllib.parse import quote, urlsplit, urlunsplit

    from pydantic import SecretStr

    update: dict[str, Any] = {}
    if settings.llm_base_url and settings.llm_api_key is None:
        platform, key = LLM_API_KEY
        value = await find_secret(db, settings, agent=None, platform=platform, key=key)
        if value:
            update["llm_api_key"] = SecretStr(value)
    if settings.smtp_url is not None:
        parts = urlsplit(settings.smtp_url.get_secret_value())
        if parts.username and parts.password is None:
            platform, key = SMTP_PASSWORD
            value = await find_secret(db, settings, agent=None, platform=platform, key=key)
            if value:
                userinfo, _, hostport = parts.netloc.rpartition("@")
                netloc = f"{userinfo}:{quote(value, safe='')}@{hostport}"
                update["smtp_url"] = SecretStr(urlunsplit(parts._replace(netloc=netloc)))
    return settings.model_copy(update=update) if update else settings
