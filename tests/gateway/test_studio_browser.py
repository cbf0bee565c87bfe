"""The script editor on the episode page, in headless Chromium: a script held for review is edited (a line
rewritten, a speaker changed, a line added, one removed), saved as a new version, approved, and the
episode is published from that version. Screenshots go to test-artifacts/."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from aether.config import Settings
from tests.gateway.conftest import Gateway, create_show, register, start_gateway
from tests.gateway.test_browser import ARTIFACTS, FLAGS, chromium  # noqa: F401  (chromium: a fixture)
from tests.podcasts.conftest import WorkerThread, fast_settings, worker_thread  # noqa: F401  (fixtures)
from tests.support import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def studio_web(fast_settings: Settings) -> Iterator[Gateway]:  # noqa: F811
    gw, thread = start_gateway(fast_settings.model_copy(update={"public_url": None}))
    yield gw
    gw.server.should_exit = True
    thread.join(timeout=30)


def test_the_script_editor_saves_and_approves(
    chromium: Path,  # noqa: F811
    studio_web: Gateway,
    fast_settings: Settings,  # noqa: F811
    worker_thread: Callable[..., WorkerThread],  # noqa: F811
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    worker_thread(fast_settings)
    with studio_web.client() as client:
        auth = register(client, password="studio password 1")
        show = create_show(client, auth, title="Studio Radio", review=True, hosts=["Ada", "Bo"])
        r = client.post(
            f"/v1/shows/{show['id']}/episodes",
            json={"topic": "Editing a script in the browser"},
            headers=auth["headers"] | {"X-Idempotency-Key": str(uuid.uuid4())},
        )
        assert r.status_code == 202, r.text
        episode_id = r.json()["episode"]["id"]

        def status() -> str:
            return str(client.get(f"/v1/episodes/{episode_id}", headers=auth["headers"]).json()["episode"]["status"])

        wait_for(lambda: status() == "review", timeout=60, what="the script to wait for review")
        before = client.get(f"/v1/episodes/{episode_id}/script", headers=auth["headers"]).json()

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(studio_web.url + "/login")
            page.fill("#email", auth["email"])
            page.fill("#password", "studio password 1")
            page.click("form button[type=submit]")
            page.wait_for_load_state()
            page.goto(f"{studio_web.url}/episodes/{episode_id}")
            expect(page.locator(".notice")).to_contain_text("waits for your approval")
            expect(page.locator("#studio-h")).to_contain_text("version 1")
            topic = page.locator("fieldset.segment").nth(1)
            first = topic.locator("tr.line").first
            first.locator("textarea").fill("A line rewritten in the browser.")
            first.locator("select").select_option("Bo")
            topic.locator("button.add").click()
            topic.locator("tr.line").last.locator("textarea").fill("A line added in the browser.")
            outro = page.locator("fieldset.segment").last
            outro_lines = outro.locator("tr.line").count()
            outro.locator("tr.line").last.locator("button.remove").click()
            page.screenshot(path=str(ARTIFACTS / "studio-1-editor.png"), full_page=True)
            page.click("#script-save")
            expect(page.locator("#script-message")).to_contain_text("Saved as version 2")
            expect(page.locator("#studio-h")).to_contain_text("version 2")
            page.click("#script-approve")
            expect(page.locator("#script-message")).to_contain_text("Approved")
            page.screenshot(path=str(ARTIFACTS / "studio-2-approved.png"), full_page=True)
            browser.close()

        after = client.get(f"/v1/episodes/{episode_id}/script", headers=auth["headers"]).json()
        assert after["version"] == 2
        edited = after["segments"][1]["lines"]
        assert edited[0]["text"] == "A line rewritten in the browser." and edited[0]["speaker"] == "Bo"
        assert edited[0]["id"] == before["segments"][1]["lines"][0]["id"]
        assert edited[-1]["text"] == "A line added in the browser." and edited[-1]["speaker"] != edited[-2]["speaker"]
        assert len(after["segments"][-1]["lines"]) == outro_lines - 1
        wait_for(lambda: status() == "published", timeout=90, what="the approved episode to be published")
        detail = client.get(f"/v1/episodes/{episode_id}", headers=auth["headers"]).json()["episode"]
        assert detail["render"]["version"] == 1
        assert httpx.URL(detail["media"]["audio"]).path.endswith("/v1/audio.mp3")


def test_the_show_bible_is_edited_in_the_browser(chromium: Path, studio_web: Gateway) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with studio_web.client() as client:
        auth = register(client, password="studio password 1")
        show = create_show(client, auth, title="Bible Radio", hosts=["Ada", "Bo"])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(f"{studio_web.url}/shows/{show['slug']}/settings")
            page.wait_for_url("**/login**")  # logged out: log in first, then back here
            page.fill("#email", auth["email"])
            page.fill("#password", "studio password 1")
            page.click("form button[type=submit]")
            page.wait_for_url(f"**/shows/{show['slug']}/settings")
            first = page.locator("tr.host").first
            first.locator("[name=persona]").fill("The curious one who asks")
            first.locator("[name=pitch]").fill("0.92")
            page.click("#add-word")
            page.locator("tr.word").last.locator("[name=text]").fill("Lindqvist")
            page.locator("tr.word").last.locator("[name=say]").fill("Lind-kvist")
            page.fill("#intro", "Welcome to {show}, I'm {host}.")
            page.uncheck("#music")
            page.check("#review")
            page.click("#bible-save")
            expect(page.locator("#bible-message")).to_contain_text("Saved")
            page.screenshot(path=str(ARTIFACTS / "studio-3-bible.png"), full_page=True)
            page.fill("#language", "not a language")
            page.click("#bible-save")
            expect(page.locator("#bible-message")).to_contain_text("language")
            browser.close()
        saved = client.get(f"/v1/shows/{show['id']}", headers=auth["headers"]).json()["show"]
    assert saved["hosts"][0]["persona"] == "The curious one who asks"
    assert saved["hosts"][0]["voice"]["pitch"] == 0.92 and saved["hosts"][1]["name"] == "Bo"
    assert saved["pronunciations"] == [{"text": "Lindqvist", "say": "Lind-kvist"}]
    assert saved["intro"] == "Welcome to {show}, I'm {host}." and saved["music"] is False and saved["review"] is True
    assert saved["language"] == "en"  # the refused change changed nothing
