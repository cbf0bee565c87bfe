"""Pages of a show's episode list are kept rendered per gateway process; a change to the show's episodes
made anywhere (a worker, another gateway, psql) drops them at once through `aether_episodes`, and a write
through a gateway drops them there before its response starts."""

from __future__ import annotations

import uuid

import httpx

from aether.config import Settings
from aether.db.pool import Database
from aether.gateway.announce import PageCache
from tests.gateway.conftest import Gateway, create_show, publish_episode, register
from tests.support import wait_for


def _titles(client: httpx.Client, show_id: int, headers: dict[str, str]) -> list[str]:
    r = client.get(f"/v1/shows/{show_id}/episodes?limit=20", headers=headers)
    assert r.status_code == 200, r.text
    return [item["title"] for item in r.json()["items"]]


async def test_changes_made_elsewhere_reach_the_cached_pages(
    two_gateways: tuple[Gateway, Gateway], db: Database, settings: Settings
) -> None:
    a, b = two_gateways
    with a.client() as ca, b.client() as cb:
        account = register(ca)
        headers = account["headers"]
        show = create_show(ca, account)
        await publish_episode(db, settings.home, show["id"], "First")
        assert _titles(cb, show["id"], headers) == ["First"]  # cached in b now
        assert _titles(cb, show["id"], headers) == ["First"]
        await publish_episode(db, settings.home, show["id"], "Second")  # as a worker would: straight in the database
        wait_for(lambda: _titles(cb, show["id"], headers) == ["Second", "First"], timeout=5, what="the new episode")
        await db.execute(
            "UPDATE episodes SET title = 'First, renamed' WHERE title = 'First' AND show_id = %s", (show["id"],)
        )
        wait_for(
            lambda: _titles(cb, show["id"], headers) == ["Second", "First, renamed"], timeout=5, what="the new title"
        )
        # a write through gateway a: its own next read sees it at once, gateway b as soon as it hears of it
        assert _titles(ca, show["id"], headers) == ["Second", "First, renamed"]
        r = ca.delete(f"/v1/shows/{show['id']}", headers=headers)
        assert r.status_code == 204, r.text
        assert ca.get(f"/v1/shows/{show['id']}/episodes", headers=headers).status_code == 404
        wait_for(
            lambda: cb.get(f"/v1/shows/{show['id']}/episodes", headers=headers).status_code == 404,
            timeout=5,
            what="the deleted show to disappear from gateway b",
        )


async def test_a_write_through_the_gateway_is_read_back_at_once(
    two_gateways: tuple[Gateway, Gateway], db: Database, settings: Settings
) -> None:
    a, _ = two_gateways
    with a.client() as ca:
        account = register(ca)
        show = create_show(ca, account)
        await publish_episode(db, settings.home, show["id"], "Old")
        assert _titles(ca, show["id"], account["headers"]) == ["Old"]
        r = ca.post(
            f"/v1/shows/{show['id']}/episodes",
            json={"topic": "Page caches", "title": "New"},
            headers={**account["headers"], "X-Idempotency-Key": str(uuid.uuid4())},
        )
        assert r.status_code == 202, r.text
        assert _titles(ca, show["id"], account["headers"]) == ["New", "Old"]  # no waiting


def test_page_cache_rules() -> None:
    pages = PageCache(60.0)
    pages.put("k1", 1, pages.generation(1), b"one")
    assert pages.get("k1") is None  # not listening: nothing is kept
    pages.set_listening(True)
    before = pages.generation(1)
    pages.put("k1", 1, before, b"one")
    pages.put("k2", 2, pages.generation(2), b"two")
    assert pages.get("k1") == b"one" and pages.get("k2") == b"two"
    pages.announce("1")
    assert pages.get("k1") is None and pages.get("k2") == b"two"
    pages.put("k1", 1, before, b"stale")  # built before the change: not kept
    assert pages.get("k1") is None
    pages.put("k1", 1, pages.generation(1), b"fresh")
    assert pages.get("k1") == b"fresh"
    late = pages.generation(2)
    pages.announce("*")
    assert pages.get("k1") is None and pages.get("k2") is None
    pages.put("k2", 2, late, b"stale")
    assert pages.get("k2") is None
    pages.set_listening(False)
    pages.put("k2", 2, pages.generation(2), b"two")
    assert pages.get("k2") is None
