"""Gateway test set-up: the real app served by uvicorn on 127.0.0.1 (a free port) for each test, an
httpx client, helpers to register users and to make published episodes with real MP3 files."""

from __future__ import annotations

import asyncio
import io
import math
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from aether.config import Settings
from aether.db.pool import Database
from aether.gateway.app import create_app
from aether.run.hooks import HOOKS
from tests.support import free_port, wait_for


@dataclass
class Gateway:
    url: str
    settings: Settings
    server: uvicorn.Server

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)


def start_gateway(settings: Settings) -> tuple[Gateway, threading.Thread]:
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, hooks=HOOKS),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        proxy_headers=False,  # as aether.run.serve: AETHER_TRUSTED_PROXIES alone decides whom to believe
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=30, what="the gateway to start")
    return Gateway(f"http://127.0.0.1:{port}", settings, server), thread


@pytest.fixture
def gateway_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"login_max_failures": 3, "feed_cache_seconds": 0.0})


@pytest.fixture
def gateway(gateway_settings: Settings) -> Iterator[Gateway]:
    gw, thread = start_gateway(gateway_settings)
    yield gw
    gw.server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def two_gateways(settings: Settings) -> Iterator[tuple[Gateway, Gateway]]:
    """Two gateways (two processes' worth of caches) on one database, each trusting what it caches for a
    whole minute: only the database's announcements can make them forget."""
    slow = settings.model_copy(update={"session_cache_seconds": 60.0, "list_cache_seconds": 60.0})
    (a, ta), (b, tb) = start_gateway(slow), start_gateway(slow)
    wait_for(lambda: listening(a) and listening(b), timeout=30, what="both gateways to listen")
    yield a, b
    for gw, thread in ((a, ta), (b, tb)):
        gw.server.should_exit = True
        thread.join(timeout=30)


def listening(gw: Gateway) -> bool:
    """The gateway hears the database's change announcements."""
    app = gw.server.config.loaded_app
    while not hasattr(app, "state"):  # uvicorn wraps the app in its own middleware
        app = app.app
    return bool(app.state.session_cache.listening and app.state.page_cache.listening)


@pytest.fixture
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    with gateway.client() as c:
        yield c


def register(client: httpx.Client, email: str | None = None, password: str = "correct horse 1") -> dict[str, Any]:
    """Register and log in; returns {email, password, token, headers, user}."""
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.org"
    r = client.post("/v1/users", json={"email": email, "password": password, "display_name": "Tester"})
    assert r.status_code == 201, r.text
    r = client.post("/v1/sessions", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    return {
        "email": email,
        "password": password,
        "token": token,
        "headers": {"Authorization": f"Bearer {token}"},
        "user": r.json()["user"],
    }


def create_show(client: httpx.Client, auth: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Test Show",
        "description": "About tests",
        "author": "Tester",
        "sources": ["https://feeds.example.org/tests.xml"],  # an episode needs a source to read
        **fields,
    }
    r = client.post("/v1/shows", json=body, headers=auth["headers"])
    assert r.status_code == 201, r.text
    show: dict[str, Any] = r.json()["show"]
    return show


def make_mp3(seconds: float = 2.0, rate: int = 22050) -> bytes:
    """A real MP3: a 440 Hz tone encoded with LAME."""
    import lameenc
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.3 * np.sin(2 * math.pi * 440 * t) * 32767).astype("<i2").tobytes()
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(7)
    return bytes(encoder.encode(pcm) + encoder.flush())


def make_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 90)).save(out, format="PNG")
    return out.getvalue()


VTT = (
    "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nAlex: Hello and welcome.\n\n00:00:01.000 --> 00:00:02.000\nSam: Thanks!\n"
)
CHAPTERS = '{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Intro"}, {"startTime": 1, "title": "Main"}]}'


async def publish_episode(
    db: Database, home: Path, show_id: int, title: str = "Episode", *, with_extras: bool = True
) -> str:
    """A published episode with real files (MP3, PNG, VTT, chapters JSON) stored as assets rows."""
    folder = home / "objects" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    files = {"audio": ("audio.mp3", make_mp3(), "audio/mpeg", "audio")}
    if with_extras:
        files |= {
            "cover": ("cover.png", make_png(), "image/png", "image"),
            "transcript": ("transcript.vtt", VTT.encode(), "text/vtt", "transcript"),
            "chapters": ("chapters.json", CHAPTERS.encode(), "application/json+chapters", "chapters"),
        }
    ids: dict[str, int] = {}
    async with db.transaction() as conn:
        for kind, (name, data, content_type, asset_type) in files.items():
            path = folder / name
            path.write_bytes(data)
            meta = {"content_type": content_type, "size": len(data)}
            if kind == "audio":
                meta["duration_seconds"] = 2.0
            row = await (
                await conn.execute(
                    "INSERT INTO assets (name, type, path, metadata) VALUES (%s, %s, %s, %s::jsonb) RETURNING id",
                    (name, asset_type, path.as_uri(), __import__("json").dumps(meta)),
                )
            ).fetchone()
            assert row is not None
            ids[kind] = row["id"]
        episode_id = uuid.uuid4()
        await conn.execute(
            """INSERT INTO episodes (id, show_id, guid, title, description, status, episode_number, duration_seconds,
                                     audio_asset_id, cover_asset_id, transcript_asset_id, chapters_asset_id,
                                     published_at)
               VALUES (%s, %s, %s, %s, %s, 'published', 1, 2.0, %s, %s, %s, %s, LOCALTIMESTAMP)""",
            (
                episode_id,
                show_id,
                f"aether-episode-{episode_id}",
                title,
                f"Description of {title} & more <b>",
                ids["audio"],
                ids.get("cover"),
                ids.get("transcript"),
                ids.get("chapters"),
            ),
        )
    return str(episode_id)


from tests.gateway.smtp import smtp_server  # noqa: E402, F401  (fixture for the gateway tests)
