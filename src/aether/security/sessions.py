"""Login sessions: random 256-bit tokens of which only a sha256 hash is stored, sliding expiry,
per-session preferences, CSRF tokens bound to the session, and rate limiting of failed logins."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from aether.config import Settings
from aether.db import AsyncConnection, load_queries
from aether.errors import RateLimited

Q = load_queries(__file__, "sessions.sql")

TOKEN_BYTES = 32  # 256 bits
RENEW_AFTER = timedelta(seconds=60)  # sliding renewal writes at most once a minute per session


@dataclass(frozen=True)
class Session:
    session_id: str
    user_id: int
    email: str
    display_name: str | None
    role: str
    preferences: dict[str, Any]
    expires_at: datetime
    token: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: only a holder of the (HttpOnly) session cookie's value can compute it."""
    return hmac.new(session_token.encode("utf-8"), b"aether-csrf", hashlib.sha256).hexdigest()


def tokens_match(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


async def create_session(
    conn: AsyncConnection,
    user_id: int,
    *,
    ttl_s: float,
    user_agent: str | None,
    ip: str | None,
) -> tuple[str, dict[str, Any]]:
    """A new session; its preferences start as those of the user's latest session. Returns (token, row)."""
    token = new_token()
    cur = await conn.execute(Q.latest_preferences, {"user_id": user_id})
    latest = await cur.fetchone()
    preferences = latest["preferences"] if latest else {}
    cur = await conn.execute(
        Q.insert_session,
        {
            "user_id": user_id,
            "token_hash": hash_token(token),
            "preferences": Jsonb(preferences),
            "user_agent": (user_agent or "")[:500] or None,
            "ip": ip,
            "ttl_s": ttl_s,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    return token, dict(row)


async def authenticate(conn: AsyncConnection, token: str, *, ttl_s: float) -> Session | None:
    """The live session of `token`, renewed (sliding expiry); None when unknown, expired or revoked."""
    if not token or len(token) > 200:
        return None
    cur = await conn.execute(Q.find_session, {"token_hash": hash_token(token), "renew_s": RENEW_AFTER.total_seconds()})
    row = await cur.fetchone()
    if row is None:
        return None
    expires_at: datetime = row["expires_at"]
    if row["stale"]:
        cur = await conn.execute(Q.renew_session, {"session_id": row["session_id"], "ttl_s": ttl_s})
        renewed = await cur.fetchone()
        if renewed is None:
            return None
        expires_at = renewed["expires_at"]
    return Session(
        session_id=str(row["session_id"]),
        user_id=row["user_id"],
        email=row["email"],
        display_name=row["display_name"],
        role=row["role"],
        preferences=dict(row["preferences"] or {}),
        expires_at=expires_at,
        token=token,
    )


async def list_sessions(conn: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute(Q.list_sessions, {"user_id": user_id})
    return [dict(row) for row in await cur.fetchall()]


async def revoke_session(conn: AsyncConnection, user_id: int, session_id: str) -> bool:
    cur = await conn.execute(Q.revoke_session, {"user_id": user_id, "session_id": session_id})
    return await cur.fetchone() is not None


async def revoke_all_sessions(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(Q.revoke_all_sessions, {"user_id": user_id})


async def set_preferences(conn: AsyncConnection, session_id: str, preferences: dict[str, Any]) -> dict[str, Any]:
    cur = await conn.execute(Q.set_preferences, {"session_id": session_id, "preferences": Jsonb(preferences)})
    row = await cur.fetchone()
    return dict(row["preferences"]) if row else preferences


# ---- login rate limiting ------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed within `window_s`: `per_email` for one email from one address, `per_address`
    from one address over all emails (far higher: a proxy or NAT puts many people behind one address)."""

    per_email: int
    per_address: int
    window_s: int

    @classmethod
    def of(cls, settings: Settings) -> LoginLimits:
        return cls(settings.login_max_failures, settings.login_max_failures_per_address, settings.login_window_seconds)


async def check_login_allowed(conn: AsyncConnection, email: str, ip: str | None, limits: LoginLimits) -> None:
    """Raise RateLimited when this email failed too often from this address, or this address failed too
    often over all emails, within the window."""
    cur = await conn.execute(Q.recent_failures, {"email": email, "ip": ip, "window_s": limits.window_s})
    row = await cur.fetchone()
    assert row is not None
    oldest: datetime | None = None
    if row["email_failures"] >= limits.per_email:
        oldest = row["email_oldest"]
    elif row["ip_failures"] >= limits.per_address:
        oldest = row["ip_oldest"]
    else:
        return
    assert oldest is not None
    retry_after = max(1, int(limits.window_s - (row["now"] - oldest).total_seconds()) + 1)
    raise RateLimited(
        f"too many failed logins; try again in {retry_after} seconds", retry_after=retry_after, field="email"
    )


async def record_login_attempt(conn: AsyncConnection, email: str, ip: str | None, *, succeeded: bool) -> None:
    await conn.execute(Q.record_attempt, {"email": email[:320], "ip": ip, "succeeded": succeeded})


async def prune_login_attempts(conn: AsyncConnection, *, keep_s: int) -> None:
    await conn.execute(Q.prune_attempts, {"keep_s": keep_s})
