"""Session tokens, CSRF tokens and the login rate limit on a real database."""

from __future__ import annotations

import pytest

from aether.db import Database
from aether.security import sessions


def test_tokens_are_256_bit_and_hashed() -> None:
    token = sessions.new_token()
    assert len(token) >= 43 and token != sessions.new_token()
    assert len(sessions.hash_token(token)) == 64 and token not in sessions.hash_token(token)
    csrf = sessions.csrf_token(token)
    assert sessions.tokens_match(csrf, csrf) and not sessions.tokens_match(csrf, None)
    assert csrf != sessions.csrf_token(sessions.new_token())


async def test_session_lifecycle_and_rate_limit(adb: Database) -> None:
    user = await adb.fetch_one("INSERT INTO users (email, password_hash) VALUES ('s@example.org', 'x') RETURNING id")
    assert user is not None
    async with adb.connection() as conn:
        token, row = await sessions.create_session(conn, user["id"], ttl_s=60, user_agent="ua", ip="10.0.0.1")
        found = await sessions.authenticate(conn, token, ttl_s=60)
        assert found is not None and found.user_id == user["id"]
        assert await sessions.authenticate(conn, "not a token", ttl_s=60) is None
        assert await sessions.revoke_session(conn, user["id"], str(row["session_id"]))
        assert await sessions.authenticate(conn, token, ttl_s=60) is None
        for _ in range(3):
            await sessions.record_login_attempt(conn, "s@example.org", "10.0.0.1", succeeded=False)
        with pytest.raises(sessions.RateLimited) as info:
            await sessions.check_login_allowed(conn, "S@example.org", "10.0.0.1", sessions.LoginLimits(3, 100, 60))
        assert 0 < info.value.retry_after <= 61
        # another address is not limited by these failures
        await sessions.check_login_allowed(conn, "s@example.org", "10.0.0.2", sessions.LoginLimits(3, 100, 60))
