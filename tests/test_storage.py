"""Object storage: content-addressed atomic writes, reading back, and one assets row per object."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from obstore.exceptions import PermissionDeniedError

from aether import storage
from aether.config import Settings, load_settings
from aether.db import Database
from aether.errors import NotFound, ValidationFailed
from aether.storage import ObjectStore
from tests.object_stores import GcsEmulator, MotoS3


def test_local_store_is_content_addressed_and_idempotent(settings: Settings) -> None:
    store = ObjectStore.from_settings(settings)
    assert store.url == (settings.home.resolve() / "objects").as_uri()
    first = store.put_bytes(b"hello world", suffix=".txt")
    sha = hashlib.sha256(b"hello world").hexdigest()
    assert first.sha256 == sha and first.key == f"{sha[:2]}/{sha}.txt" and first.created
    assert first.mime_type == "text/plain"
    path = settings.home.resolve() / "objects" / first.key
    assert path.read_bytes() == b"hello world"
    second = store.put_bytes(b"hello world", suffix=".txt")
    assert second.uri == first.uri and not second.created
    assert store.get_bytes(first.uri) == b"hello world"
    assert store.size(first.uri) == 11
    # no temporary or partial files are left beside the object
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_put_file_streams_and_download_round_trips(settings: Settings, tmp_path: Path) -> None:
    store = ObjectStore.from_settings(settings)
    source = tmp_path / "big.bin"
    data = bytes(range(256)) * 40_000  # 10 MB: more than one read chunk
    source.write_bytes(data)
    obj = store.put_file(source, mime_type="application/octet-stream")
    assert obj.size == len(data) and obj.key.endswith(".bin")
    out = store.download(obj.uri, tmp_path / "copy.bin")
    assert out.read_bytes() == data
    assert asyncio.run(storage.size(obj.uri, settings)) == len(data)
    assert asyncio.run(storage.get_range(obj.uri, 10, 20, settings)) == data[10:20]


def test_missing_and_foreign_uris_are_clear_errors(settings: Settings) -> None:
    store = ObjectStore.from_settings(settings)
    with pytest.raises(NotFound, match="no stored object"):
        store.get_bytes(store.uri_for("00/nothing.mp3"))
    with pytest.raises(ValidationFailed) as info:
        store.get_bytes("ftp://example.invalid/x")
    assert info.value.field == "uri"


async def test_assets_row_per_object_and_no_duplicates(settings: Settings, db: Database) -> None:
    store = ObjectStore.from_settings(settings)
    obj = store.put_bytes(b"\xff\xfb fake mp3", suffix=".mp3", mime_type="audio/mpeg")
    meta = {"duration_s": 1.5, "agent": "vfa", "provider": "piper", "voice": "joe", "source_urls": ["http://a/b"]}
    async with db.transaction() as conn:
        first = await storage.record_asset(conn, "Episode audio", "audio", obj, meta)
    async with db.transaction() as conn:
        again = await storage.record_asset(conn, "Episode audio", "audio", obj, meta)
    assert first.created and not again.created and again.id == first.id
    row = await db.fetch_one("SELECT * FROM assets WHERE id = %s", (first.id,))
    assert row is not None
    assert row["path"] == obj.uri and row["type"] == "audio" and row["sha256"] == obj.sha256
    assert row["metadata"]["bytes"] == obj.size and row["metadata"]["mime_type"] == "audio/mpeg"
    assert row["metadata"]["duration_s"] == 1.5 and row["metadata"]["source_urls"] == ["http://a/b"]
    count = await db.fetch_one("SELECT count(*) AS n FROM assets")
    assert count is not None and count["n"] == 1


async def test_bad_asset_input_changes_nothing(settings: Settings, db: Database) -> None:
    obj = ObjectStore.from_settings(settings).put_bytes(b"x", suffix=".bin")
    with pytest.raises(ValidationFailed) as info:
        async with db.transaction() as conn:
            await storage.record_asset(conn, "x", "spreadsheet", obj)
    assert info.value.field == "type"
    with pytest.raises(ValidationFailed) as info:
        async with db.transaction() as conn:
            await storage.record_asset(conn, "x", "audio", obj, {"colour": "red"})
    assert info.value.field == "metadata"
    count = await db.fetch_one("SELECT count(*) AS n FROM assets")
    assert count is not None and count["n"] == 0


def test_storage_url_setting_is_checked() -> None:
    with pytest.raises(Exception, match="AETHER_STORAGE_URL"):
        load_settings(storage_url="ftp://bucket/x")


@pytest.fixture
def fresh_stores() -> Iterator[None]:
    """obstore clients are cached per URL; each of these tests builds its own from the environment."""
    storage._store_for.cache_clear()
    yield
    storage._store_for.cache_clear()


def _round_trip(settings: Settings) -> None:
    store = ObjectStore.from_settings(settings)
    obj = store.put_bytes(b"cover bytes", suffix=".jpg")
    assert obj.uri == f"{store.url}/{obj.key}" and obj.mime_type == "image/jpeg" and obj.created
    assert store.put_bytes(b"cover bytes", suffix=".jpg").created is False  # a second write is a no-op
    assert store.get_bytes(obj.uri) == b"cover bytes"
    assert store.size(obj.uri) == 11
    assert asyncio.run(storage.get_range(obj.uri, 6, 11, settings)) == b"bytes"
    with pytest.raises(NotFound):
        store.get_bytes(f"{store.url}/00/missing.jpg")


def test_s3_store_against_moto_checks_the_signature(
    monkeypatch: pytest.MonkeyPatch, aether_home: Path, fresh_stores: None
) -> None:
    with MotoS3() as s3:
        for key, value in s3.env().items():
            monkeypatch.setenv(key, value)
        settings = load_settings(home=aether_home, storage_url=f"s3://{s3.bucket}/podcasts")
        _round_trip(settings)
        listed = boto3.client(
            "s3",
            endpoint_url=s3.url,
            region_name="us-east-1",
            aws_access_key_id=s3.access_key,
            aws_secret_access_key=s3.secret_key,
        ).list_objects_v2(Bucket=s3.bucket)
        assert [o["Key"] for o in listed["Contents"]] == [
            f"podcasts/{ObjectStore.key_for(hashlib.sha256(b'cover bytes').hexdigest(), '.jpg')}"
        ]

        storage._store_for.cache_clear()
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        with pytest.raises(PermissionDeniedError, match="403"):
            ObjectStore.from_settings(settings).put_bytes(b"other bytes", suffix=".jpg")


def test_gs_store_against_the_gcs_emulator(
    monkeypatch: pytest.MonkeyPatch, aether_home: Path, fresh_stores: None
) -> None:
    with GcsEmulator() as gcs:
        for key, value in gcs.env().items():
            monkeypatch.setenv(key, value)
        settings = load_settings(home=aether_home, storage_url=f"gs://{gcs.bucket}/podcasts")
        _round_trip(settings)
        key = ObjectStore.key_for(hashlib.sha256(b"cover bytes").hexdigest(), ".jpg")
        assert gcs.object_bytes(f"podcasts/{key}") == b"cover bytes"  # where GCS keeps it
