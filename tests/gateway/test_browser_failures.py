"""Failures a person can see, in headless Chromium: a demo episode that finds nothing about its topic fails
for real (a real worker runs its discovery on the bundled samples), and then the home page says why instead
of "No episodes yet", the admin page lists the failed workflow and task with that reason and a link to the
episode, on a phone without overflowing, and the episode page says the same reason."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import psycopg
import pytest

from aether.config import Settings
from aether.db import open_database
from aether.podcasts import demo
from tests.gateway.conftest import Gateway, register
from tests.gateway.test_browser import ARTIFACTS, FLAGS, chromium, web, worker  # noqa: F401  (fixtures)
from tests.support import wait_for

pytestmark = pytest.mark.slow
TOPIC = "Lattice QCD on supercomputers"


async def _make_demo(settings: Settings) -> str:
    db = await open_database(settings, name="test-demo")
    try:
        episode_id = await demo.ensure_demo_content(db, settings)
    finally:
        await db.close()
    assert episode_id is not None
    return episode_id


def _failed(settings: Settings, episode_id: str) -> bool:
    assert settings.database_url is not None
    with psycopg.connect(settings.database_url.get_secret_value()) as conn:
        row = conn.execute("SELECT status FROM episodes WHERE id = %s", (episode_id,)).fetchone()
    return row is not None and row[0] == "failed"


def test_a_failed_demo_episode_says_why_everywhere(
    chromium: Path,  # noqa: F811
    web: Gateway,  # noqa: F811
    worker: subprocess.Popen[bytes],  # noqa: F811
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with web.client() as client:
        admin = register(client)  # the installation's first user: the admin
    monkeypatch.setattr(demo, "DEMO_TOPIC", TOPIC)  # nothing in the bundled samples is about it
    episode_id = asyncio.run(_make_demo(settings))
    wait_for(lambda: _failed(settings, episode_id), timeout=120, interval=0.2, what="the demo episode to fail")

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.set_default_timeout(30_000)

        page.goto(web.url + "/")
        reason = page.locator("#demo-reason")
        expect(reason).to_contain_text("Failed while finding stories about the topic")
        expect(reason).to_contain_text(TOPIC)
        expect(page.locator("text=No episodes yet")).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "failures-1-home.png"), full_page=True)

        page.goto(web.url + "/login")
        page.fill("#email", admin["email"])
        page.fill("#password", admin["password"])
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(web.url + "/admin")
        failed = page.locator("#workflows tr[data-status=failed]")
        expect(failed).to_have_count(1)
        expect(failed.locator("td.reason")).to_contain_text("discover")
        expect(failed.locator("td.reason")).to_contain_text(TOPIC)
        failed_task = page.locator("#tasks tr[data-status=failed]")
        expect(failed_task).to_have_count(1)
        expect(failed_task.locator("td.reason")).to_contain_text(TOPIC)
        expect(failed_task.locator(f"a[href='/episodes/{episode_id}']")).to_have_count(1)
        created = failed.locator("td").nth(5).inner_text()
        assert len(created) == len("2026-12-03 08:15:06") and "." not in created  # to the second
        # on a phone the page itself never scrolls sideways: the tables scroll inside their boxes
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(ARTIFACTS / "failures-2-admin.png"), full_page=True)

        failed.locator(f"a[href='/episodes/{episode_id}']").click()
        page.wait_for_url(f"**/episodes/{episode_id}")
        expect(page.locator("#failure")).to_contain_text(TOPIC)
        page.screenshot(path=str(ARTIFACTS / "failures-3-episode.png"), full_page=True)
        browser.close()
    assert worker.poll() is None
