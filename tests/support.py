"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_aether(
    args: list[str], env: dict[str, str], *, timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `aether` command as a user would; text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "aether.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


def wait_for(predicate: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.02, what: str = "") -> T:
    """Poll `predicate` until it returns a truthy value or the deadline passes (never a bare sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def start_aether(args: list[str], env: dict[str, str], **popen: Any) -> subprocess.Popen[bytes]:
    """Start the real `aether` command in the background (stdin closed; other Popen options as given)."""
    return subprocess.Popen([sys.executable, "-m", "aether.cli", *args], env=env, stdin=subprocess.DEVNULL, **popen)


def answers(url: str, status: int = 200) -> bool:
    """`url` answers a GET with `status` (False while nothing listens there yet)."""
    import httpx

    try:
        return httpx.get(url, timeout=2).status_code == status
    except httpx.HTTPError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
