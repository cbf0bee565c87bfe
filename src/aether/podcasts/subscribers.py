"""Subscribers of a show: double opt-in by a single-use confirmation link, a stable unsubscribe link in
every mail. Tokens are stored hashed only: the confirmation token is random, the unsubscribe token is
derived (HMAC) from a secret kept in `gateway_secrets`, so each mail can carry it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from aether.config import Settings
from aether.db import AsyncConnection, load_queries
from aether.errors import NotFound
from aether.podcasts import mail

Q = load_queries(__file__, "subscribers.sql")

CONFIRMATION_TTL_S = 48 * 3600
SECRET_NAME = "unsubscribe"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def _secret(conn: AsyncConnection, name: str) -> bytes:
    await conn.execute(Q.ensure_secret, {"name": name, "secret": secrets.token_bytes(32)})
    cur = await conn.execute(Q.get_secret, {"name": name})
    row = await cur.fetchone()
    assert row is not None
    return bytes(row["secret"])


async def unsubscribe_token(conn: AsyncConnection, subscriber_id: int, email: str) -> str:
    """The subscriber's stable unsubscribe token (its hash is recorded on first use)."""
    key = await _secret(conn, SECRET_NAME)
    mac = hmac.new(key, f"{subscriber_id}:{email.lower()}".encode(), hashlib.sha256).hexdigest()[:40]
    token = f"{subscriber_id}-{mac}"
    await conn.execute(Q.set_unsubscribe_hash, {"id": subscriber_id, "hash": hash_token(token)})
    return token


async def subscribe(conn: AsyncConnection, settings: Settings, show: dict[str, Any], email: str, base_url: str) -> str:
    """Record a pending subscription and mail its confirmation link, in the caller's transaction (a mail
    that cannot be sent rolls it back). Returns the resulting status; an already confirmed address is left
    as it is and gets no mail."""
    token = secrets.token_urlsafe(32)
    cur = await conn.execute(
        Q.upsert_pending,
        {"show_id": show["id"], "email": email, "token_hash": hash_token(token), "ttl_s": CONFIRMATION_TTL_S},
    )
    row = await cur.fetchone()
    if row is None:
        return "confirmed"
    unsubscribe = await unsubscribe_token(conn, row["id"], row["email"])
    confirm_url = f"{base_url}/subscribe/confirm?token={token}"
    unsubscribe_url = f"{base_url}/unsubscribe?token={unsubscribe}"
    text = (
        f"Please confirm that you want new episodes of {show['title']} by mail:\n\n"
        f"{confirm_url}\n\n"
        "The link works once and for 48 hours. If you did not ask for this, ignore this mail.\n"
        f"Unsubscribe: {unsubscribe_url}\n"
    )
    message = mail.build_message(
        settings, email, f"Confirm your subscription to {show['title']}", text, unsubscribe_url=unsubscribe_url
    )
    await mail.send(settings, message, conn)
    return "pending"


async def confirm(conn: AsyncConnection, token: str) -> dict[str, Any]:
    cur = await conn.execute(Q.confirm, {"token_hash": hash_token(token)})
    row = await cur.fetchone()
    if row is None:
        raise NotFound("this confirmation link is unknown, used or expired", field="token")
    return dict(row)


async def unsubscribe(conn: AsyncConnection, token: str) -> dict[str, Any]:
    cur = await conn.execute(Q.unsubscribe, {"token_hash": hash_token(token)})
    row = await cur.fetchone()
    if row is None:
        raise NotFound("this unsubscribe link is unknown", field="token")
    return dict(row)
