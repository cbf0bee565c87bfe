"""Real Aether processes for the scale-out and chaos tests: `aether api`, `aether worker`, `aether scheduler`
started as a user would, each with its output in a log file of its own; plus the HTTP helpers those tests
share (an account, a show, subscribers confirmed through a real SMTP server, episodes started via the API)."""

from __future__ import annotations

import base64
import email
import email.policy
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]

# Fast queue timings and the smallest episodes the media tests make (60 words, no video).
FAST_ENV = {
    "AETHER_QUEUE_LEASE_S": "10",
    "AETHER_QUEUE_RESCUE_INTERVAL_S": "0.5",
    "AETHER_QUEUE_RETRY_BASE_S": "1",
    "AETHER_QUEUE_RETRY_MAX_S": "4",
    "AETHER_QUEUE_POLL_INTERVAL_S": "0.5",
    "AETHER_SCHEDULER_INTERVAL_S": "0.5",
    "AETHER_POOL_MIN_SIZE": "1",
    "AETHER_POOL_MAX_SIZE": "6",
    "AETHER_POOL_TIMEOUT": "3",
    "AETHER_WORKER_CPU_POOL": "thread",
    "AETHER_WORKER_SHUTDOWN_TIMEOUT_S": "5",
    "AETHER_SCRIPT_WORDS_PER_MINUTE": "60",
    "AETHER_TTS_THREADS": "1",
    "AETHER_FEED_CACHE_SECONDS": "0",
    "AETHER_LOG_FORMAT": "text",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(**settings: str) -> dict[str, str]:
    """The caller's environment without any AETHER_* setting, the fast timings, a master key, `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AETHER_")}
    env.update(FAST_ENV)
    env["AETHER_MASTER_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    env["PYTHONPATH"] = str(ROOT)
    env.update(settings)
    return env


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n{self.output()[-chars:]}"


@dataclass
class Fleet:
    """Processes started with one environment; `stop()` ends them with SIGTERM (then SIGKILL)."""

    env: dict[str, str]
    logs: Path
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, *args: str, **extra_env: str) -> Process:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "aether.cli", *args],
                env={**self.env, **extra_env},
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def api(self, **extra_env: str) -> tuple[Process, str]:
        """`aether api` on a free port; returns it with its base URL once /readyz answers 200."""
        port = free_port()
        process = self.start(f"api-{port}", "api", "--port", str(port), **extra_env)
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if not process.alive():
                raise AssertionError(f"the gateway exited:\n{process.tail()}")
            try:
                return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=90, interval=0.2, what="the gateway to be ready")
        return process, url

    def worker(self, name: str, *args: str) -> Process:
        """`aether worker` with `args`; returns once it logs that it is ready to claim."""
        process = self.start(name, "worker", *args)

        def ready() -> bool:
            if not process.alive():
                raise AssertionError(f"the worker exited:\n{process.tail()}")
            return " ready: agents " in process.output()

        wait_for(ready, timeout=90, interval=0.1, what=f"{name} to be ready")
        return process

    def report(self) -> str:
        return "\n".join(p.tail() for p in self.processes)

    def check_alive(self) -> None:
        dead = [p for p in self.processes if not p.alive()]
        assert not dead, "processes died:\n" + "\n".join(p.tail() for p in dead)

    def stop(self) -> None:
        for process in self.processes:
            if process.alive():
                process.popen.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=30)


@contextmanager
def fleet(env: dict[str, str], logs: Path) -> Iterator[Fleet]:
    logs.mkdir(parents=True, exist_ok=True)
    running = Fleet(env, logs)
    try:
        yield running
    finally:
        running.stop()


class Inbox:
    """aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in list(self.messages) if m["To"] == address]


@contextmanager
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on a free port of 127.0.0.1 keeping every message."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


# ---- the API as a client uses it ------------------------------------------------------------------


def account(client: httpx.Client) -> dict[str, str]:
    """Register a user and log in; returns the bearer headers."""
    email = f"chaos-{uuid.uuid4().hex[:8]}@example.org"
    password = "correct horse 1"
    r = client.post("/v1/users", json={"email": email, "password": password, "display_name": "Operator"})
    assert r.status_code == 201, r.text
    r = client.post("/v1/sessions", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def show(client: httpx.Client, headers: dict[str, str], title: str) -> dict[str, Any]:
    r = client.post("/v1/shows", json={"title": title, "description": "Resilience", "author": "Ops"}, headers=headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()["show"]
    return created


def confirmed_subscribers(client: httpx.Client, inbox: Inbox, slug: str, emails: list[str]) -> None:
    """Subscribe each address and confirm it with the token of the mail it received (double opt-in)."""
    for address in emails:
        r = client.post(f"/v1/public/shows/{slug}/subscribers", json={"email": address})
        assert r.status_code == 202, r.text
        [mail] = wait_for(
            lambda address=address: inbox.to(address), timeout=30, what=f"the confirmation mail to {address}"
        )
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        match = re.search(r"/subscribe/confirm\?token=(\S+)", text)
        assert match, text
        r = client.post("/v1/subscribers/confirm", json={"token": match.group(1)})
        assert r.status_code == 200, r.text


def start_episode(
    client: httpx.Client, headers: dict[str, str], show_id: int, title: str, hosts: list[str], feed_url: str
) -> dict[str, Any]:
    """POST an episode (one minute, no video) with an idempotency key; returns the 202 body."""
    body = {
        "topic": "Small language models on laptops",  # a story of the sample feed
        "title": title,
        "hosts": hosts,
        "episode_minutes": 1,
        "sources": [feed_url],
        "video": False,
    }
    r = client.post(
        f"/v1/shows/{show_id}/episodes", json=body, headers={**headers, "X-Idempotency-Key": str(uuid.uuid4())}
    )
    assert r.status_code == 202, r.text
    created: dict[str, Any] = r.json()
    return created


def episode_of(message: Any) -> str:
    """The episode id a new-episode mail links to."""
    text = message.get_body(("plain",)).get_content()
    match = re.search(r"/episodes/([0-9a-f-]{36})", text)
    assert match, text
    return match.group(1)
