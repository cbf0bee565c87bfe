"""`aether users create` as a user runs it."""

from __future__ import annotations

from aether.db.pool import Database
from tests.support import run_aether


async def test_users_create(cli_env: dict[str, str], db: Database) -> None:
    r = run_aether(
        ["users", "create", "root@example.org", "--admin", "--password-stdin"], cli_env, input="s3cret pw!\n"
    )
    assert r.returncode == 0, r.stderr
    r = run_aether(["users", "create", "bob@example.org", "--password-stdin"], cli_env, input="another pw\n")
    assert r.returncode == 0, r.stderr
    rows = await db.fetch_all("SELECT email, role FROM users ORDER BY id")
    assert [(x["email"], x["role"]) for x in rows] == [("root@example.org", "admin"), ("bob@example.org", "user")]
    r = run_aether(["users", "create", "bob@example.org", "--password-stdin"], cli_env, input="another pw\n")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = run_aether(["users", "create", "x@example.org", "--password-stdin"], cli_env, input="short\n")
    assert r.returncode == 1 and "password" in r.stderr and "Traceback" not in r.stderr
    r = run_aether(["users", "create", "x@example.org", "--password-stdin"], cli_env, input="password123\n")
    assert r.returncode == 1 and "common" in r.stderr and "Traceback" not in r.stderr
    r = run_aether(["users", "create", "pad@example.org", "--password-stdin"], cli_env, input=" padded pw \n")
    assert r.returncode == 0, r.stderr
    r = run_aether(["users", "create", "x\x01@example.org", "--password-stdin"], cli_env, input="another pw\n")
    assert r.returncode == 1 and "control characters" in r.stderr and "Traceback" not in r.stderr
    r = run_aether(["users", "create", "x@example.org", "--name", "a\x1bb", "--password-stdin"], cli_env, input="x\n")
    assert r.returncode == 1 and "--name" in r.stderr and "control characters" in r.stderr
    assert len(await db.fetch_all("SELECT id FROM users")) == 3
    assert await db.fetch_one("SELECT 1 FROM users WHERE email = 'pad@example.org'") is not None
