"""Media delivery: Range (206/416), ETag (304), If-Range, Content-Type, HEAD, download counting."""

from __future__ import annotations

import uuid

import httpx

from aether.config import Settings
from aether.db.pool import Database
from tests.gateway.conftest import CHAPTERS, VTT, create_show, publish_episode, register


async def _episode(client: httpx.Client, db: Database, settings: Settings) -> str:
    auth = register(client)
    show = create_show(client, auth)
    return await publish_episode(db, settings.home, show["id"])


async def test_ranges(client: httpx.Client, db: Database, settings: Settings) -> None:
    eid = await _episode(client, db, settings)
    url = f"/media/episodes/{eid}/audio"
    whole = client.get(url)
    size = len(whole.content)
    assert whole.status_code == 200 and int(whole.headers["content-length"]) == size
    etag = whole.headers["etag"]
    cases = {
        "bytes=0-0": (0, 0),
        "bytes=10-": (10, size - 1),
        "bytes=-50": (size - 50, size - 1),
        f"bytes=5-{size + 1000}": (5, size - 1),
    }
    for header, (start, end) in cases.items():
        r = client.get(url, headers={"Range": header})
        assert r.status_code == 206, header
        assert r.headers["content-range"] == f"bytes {start}-{end}/{size}"
        assert r.content == whole.content[start : end + 1]
    r = client.get(url, headers={"Range": f"bytes={size}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'}).status_code == 200
    assert client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    head = client.head(url)
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) == size
    assert client.get(f"/media/episodes/{eid}/audio.mp3").content == whole.content


async def test_other_media_and_errors(client: httpx.Client, db: Database, settings: Settings) -> None:
    eid = await _episode(client, db, settings)
    cover = client.get(f"/media/episodes/{eid}/cover")
    assert cover.status_code == 200 and cover.headers["content-type"] == "image/png"
    assert cover.content.startswith(b"\x89PNG")
    vtt = client.get(f"/media/episodes/{eid}/transcript.vtt")
    assert vtt.headers["content-type"].startswith("text/vtt") and vtt.text == VTT
    chapters = client.get(f"/media/episodes/{eid}/chapters.json")
    assert chapters.headers["content-type"].startswith("application/json+chapters") and chapters.text == CHAPTERS
    assert client.get(f"/media/episodes/{eid}/video").status_code == 404
    assert client.get(f"/media/episodes/{eid}/secrets").status_code == 404
    assert client.get(f"/media/episodes/{uuid.uuid4()}/audio").status_code == 404
    assert client.get("/media/episodes/not-a-uuid/audio").status_code == 404


async def test_downloads_are_counted_once_per_client_and_day(
    client: httpx.Client, db: Database, settings: Settings
) -> None:
    eid = await _episode(client, db, settings)
    url = f"/media/episodes/{eid}/audio"
    client.get(url, headers={"User-Agent": "AntennaPod/3"})
    client.get(url, headers={"User-Agent": "AntennaPod/3", "Range": "bytes=0-999"})
    client.get(url, headers={"User-Agent": "AntennaPod/3", "Range": "bytes=0-1"})
    client.get(url, headers={"User-Agent": "Overcast/1"})
    client.head(url, headers={"User-Agent": "HeadOnly/1"})
    client.get(url, headers={"User-Agent": "Probe/1", "Range": "bytes=0-0"})  # a 1-byte probe is not a download
    rows = await db.fetch_all("SELECT metadata FROM analytics WHERE metric_name = 'episode_downloads' ORDER BY id")
    assert len(rows) == 2
    assert all(r["metadata"]["episode_id"] == eid and r["metadata"]["media"] == "audio" for r in rows)
    assert (await db.fetch_one("SELECT count(*) AS n FROM episode_download_days"))["n"] == 2  # type: ignore[index]
