"""IGA: the cover stored as an asset (3000x3000 RGB), linked to its topic, never stored twice; the task
handler through a TaskContext; the images API path through a stand-in."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pydantic import SecretStr

from aether.agents.iga import cover as iga
from aether.config import Settings
from aether.db import Database
from aether.errors import PermanentError, ValidationFailed
from aether.queue.tasks import TaskContext
from aether.storage import ObjectStore
from tests.standins.images import ImagesStandin


async def _assets(db: Database) -> int:
    row = await db.fetch_one("SELECT count(*) AS n FROM assets")
    assert row is not None
    return int(row["n"])


async def test_cover_asset_and_topic_link(settings: Settings, adb: Database) -> None:
    topic = await adb.fetch_one(
        "INSERT INTO topics_snippets (type, title) VALUES ('topic', 'Rust in the kernel') RETURNING id"
    )
    assert topic is not None
    payload = {"title": "Rust in the kernel", "show_title": "Aether Daily", "topic_id": str(topic["id"])}
    first = await iga.make_episode_cover(settings, adb, iga.plan(settings, payload))
    image = Image.open(io.BytesIO(ObjectStore.from_settings(settings).get_bytes(first["cover_uri"])))
    assert image.size == (3000, 3000) and image.mode == "RGB"
    row = await adb.fetch_one("SELECT type, metadata FROM assets WHERE id = %s", (first["cover_asset_id"],))
    assert row is not None and row["type"] == "image"
    assert row["metadata"]["width"] == 3000 and row["metadata"]["provider"] == "procedural"
    assert row["metadata"]["mime_type"] == "image/jpeg"
    linked = await adb.fetch_one("SELECT image_uri FROM topics_snippets WHERE id = %s", (topic["id"],))
    assert linked is not None and linked["image_uri"] == first["cover_uri"]
    again = await iga.make_episode_cover(settings, adb, iga.plan(settings, payload))
    assert again["cached"] and again["cover_asset_id"] == first["cover_asset_id"] and await _assets(adb) == 1


async def test_bad_input(settings: Settings, adb: Database) -> None:
    for payload, field in (({}, "title"), ({"title": "x", "topic_id": "nope"}, "topic_id"), ({"title": 5}, "title")):
        with pytest.raises(ValidationFailed) as info:
            await iga.make_episode_cover(settings, adb, iga.plan(settings, payload))
        assert info.value.field == field
    assert await _assets(adb) == 0


async def test_handler_through_a_task_context(settings: Settings, adb: Database) -> None:
    ctx = TaskContext(task_id=1, task_type="iga.cover", agent="iga", attempt=1, settings=settings, db=adb)
    result = await iga.handle_cover(ctx, {"title": "Handlers draw too"})
    assert result["width"] == 3000 and result["cover_uri"].startswith("file://")
    with pytest.raises(PermanentError, match="title"):
        await iga.handle_cover(ctx, {"title": ""})


async def test_generated_cover_with_the_images_api(settings: Settings, adb: Database) -> None:
    with ImagesStandin() as api:
        configured = settings.model_copy(
            update={
                "images_base_url": api.base_url,
                "images_model": "img-1",
                "images_api_key": SecretStr("sk-test-images-0001"),
            }
        )
        ctx = TaskContext(task_id=2, task_type="iga.cover", agent="iga", attempt=1, settings=configured, db=adb)
        result = await iga.handle_cover(ctx, {"title": "Generated art"})
        assert result["provider"] == "openai-images" and result["model"] == "img-1"
        again = await iga.handle_cover(ctx, {"title": "Generated art"})
        assert again["cached"] and len(api.requests) == 1  # the API is not asked twice
        api.errors = [400]
        with pytest.raises(PermanentError, match="400"):
            await iga.handle_cover(ctx, {"title": "Refused art"})
