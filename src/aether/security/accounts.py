"""Accounts: registration (the first user of an empty installation is admin) and password login."""

from __future__ import annotations

from typing import Any

from aether.db import AsyncConnection, load_queries
from aether.errors import Conflict, Unauthorized
from aether.security import passwords
from aether.security.sessions import LoginLimits, check_login_allowed, create_session, record_login_attempt

Q = load_queries(__file__, "accounts.sql")


async def register(
    conn: AsyncConnection, email: str, password: str, display_name: str | None = None, *, role: str | None = None
) -> dict[str, Any]:
    """Insert a user (inside the caller's transaction); 409 when the email is taken."""
    password_hash = await passwords.hash_password_async(password)
    await conn.execute(Q.lock_registration)
    cur = await conn.execute(
        Q.insert_user,
        {"email": email, "password_hash": password_hash, "display_name": display_name or None, "role": role},
    )
    row = await cur.fetchone()
    if row is None:
        raise Conflict(f"an account with the email {email} already exists", field="email")
    return dict(row)


async def login(
    conn: AsyncConnection,
    email: str,
    password: str,
    *,
    ip: str | None,
    user_agent: str | None,
    ttl_s: float,
    limits: LoginLimits,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Check the password (rate limited per email and address, and per address: `limits`); returns
    (token, session row, user row).

    The attempt is recorded in its own statement even when the login fails, so the caller's transaction
    must be committed on failure too: use an autocommit-style connection (not inside a transaction)."""
    await check_login_allowed(conn, email, ip, limits)
    cur = await conn.execute(Q.user_for_login, {"email": email})
    user = await cur.fetchone()
    ok = await passwords.verify_password_async(user["password_hash"] if user else None, password)
    if not ok or user is None or not user["is_active"]:
        await record_login_attempt(conn, email, ip, succeeded=False)
        await conn.commit()  # the failure counts even though the request fails
        raise Unauthorized("wrong email or password", field="password")
    await record_login_attempt(conn, email, ip, succeeded=True)
    if passwords.needs_rehash(user["password_hash"]):
        new_hash = await passwords.hash_password_async(password, check=False)
        await conn.execute(Q.update_password_hash, {"id": user["id"], "password_hash": new_hash})
    await conn.execute(Q.mark_login, {"id": user["id"]})
    token, session = await create_session(conn, user["id"], ttl_s=ttl_s, user_agent=user_agent, ip=ip)
    public = {k: user[k] for k in ("id", "email", "display_name", "role")}
    return token, session, public
