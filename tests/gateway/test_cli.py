"""`aether users create` and `aether api` as a user runs them."""

from __future__ import annotations

import subprocess
import sys

from aether.db.pool import Database
from tests.gateway.conftest import free_port
from tests.support import run_aether, wait_for


def test_users_create(cli_env: dict[str, str], db: Database) -> None:
    r = run_aether(
        ["users", "create", "root@example.org", "--admin", "--password-stdin"], cli_env, input="s3cret pw!\n"
    )
    assert r.returncode == 0, r.stderr
    r = run_aether(["users", "create", "bob@example.org", "--password-stdin"], cli_env, input="another pw\n")
    assert r.returncode == 0, r.stderr
    rows = db.fetch_all("SELECT email, role FROM users ORDER BY id")
    assert [(x["email"], x["role"]) for x in rows] == [("root@example.org", "admin"), ("bob@example.org", "user")]
    r = run_aether(["users", "create", "bob@example.org", "--password-stdin"], cli_env, input="another pw\n")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = run_aether(["users", "create", "x@example.org", "--password-stdin"], cli_env, input="short\n")
    assert r.returncode == 1 and "password" in r.stderr and "Traceback" not in r.stderr
    assert len(db.fetch_all("SELECT id FROM users")) == 2


def test_api_serves_on_the_given_port(cli_env: dict[str, str]) -> None:
    import httpx

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "aether.cli", "api", "--port", str(port)], env=cli_env, stdin=subprocess.DEVNULL
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=60, what="aether api")
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
