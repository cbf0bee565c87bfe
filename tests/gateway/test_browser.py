"""The web app in headless Chromium (Playwright driving /usr/bin/chromium): register, create a show,
create an episode and watch its progress to completion, play the audio, subscribe. Screenshots go to
test-artifacts/. A real worker process runs the episode's workflow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from aether.agents.tda.fetch import SAMPLES_FEED
from aether.config import Settings
from tests.gateway.conftest import Gateway, start_gateway
from tests.gateway.smtp import Inbox
from tests.support import wait_for

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def chromium() -> Path:
    """/usr/bin/chromium, installed with apt where it is missing."""
    if not CHROMIUM.exists() and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True, timeout=900)
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed and could not be installed with apt-get")
    return CHROMIUM


@pytest.fixture
def web(settings: Settings, smtp_server: tuple[Inbox, int]) -> Iterator[Gateway]:
    _, port = smtp_server
    gw, thread = start_gateway(settings.model_copy(update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{port}")}))
    yield gw
    gw.server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def worker(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """`aether worker` on the test database."""
    args = [sys.executable, "-m", "aether.cli", "worker"]
    assert settings.database_url is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("AETHER_")}
    env |= {
        "AETHER_DATABASE_URL": settings.database_url.get_secret_value(),
        "AETHER_HOME": str(settings.home),
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(args, env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def test_register_create_listen_subscribe(
    chromium: Path,
    web: Gateway,
    worker: subprocess.Popen[bytes],
    smtp_server: tuple[Inbox, int],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    inbox, _ = smtp_server
    ARTIFACTS.mkdir(exist_ok=True)
    email = f"browser-{uuid.uuid4().hex[:6]}@example.org"
    feed_url = SAMPLES_FEED
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.set_default_timeout(30_000)
        page.goto(web.url + "/register")
        page.fill("#email", email)
        page.fill("#display_name", "Browser Tester")
        page.fill("#password", "browser password")
        page.click("button[type=submit]")
        page.wait_for_url("**/shows/new")

        page.fill("#title", "Browser Radio")
        page.fill("#description", "A show made in a browser test")
        page.fill("#sources", feed_url)
        page.click("form.stack button[type=submit]")
        page.wait_for_url("**/shows/browser-radio")
        expect(page.locator("link[rel=alternate][type='application/rss+xml']")).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / "browser-1-show.png"), full_page=True)

        page.click("text=New episode")
        page.fill("#topic", "Balcony solar panels for renters")
        page.click("#episode-form button[type=submit]")
        expect(page.locator("#progress")).to_be_visible()
        expect(page.locator("#progress-done")).to_be_visible(timeout=280_000)
        assert page.locator("#progress-status").get_attribute("data-final") == "published"
        page.screenshot(path=str(ARTIFACTS / "browser-2-progress.png"), full_page=True)

        page.click("#episode-link")
        player = page.locator("#player")
        expect(player).to_be_visible()
        page.evaluate("document.getElementById('player').play()")
        # polled from outside the page: the page's Content-Security-Policy forbids the eval wait_for_function needs
        wait_for(lambda: page.evaluate("document.getElementById('player').currentTime") > 0.2, timeout=30, what="play")
        expect(page.locator("#transcript p").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "browser-3-episode.png"), full_page=True)

        page.click("text=Browser Radio")
        page.fill("#subscribe-email", "listener@example.org")
        page.click("text=Subscribe")
        expect(page.locator("#subscribe-result")).to_contain_text("Almost done")
        page.screenshot(path=str(ARTIFACTS / "browser-4-subscribed.png"), full_page=True)
        browser.close()
    wait_for(lambda: inbox.to("listener@example.org"), timeout=10, what="the confirmation mail")
    assert worker.poll() is None


def test_what_a_new_user_trips_over(chromium: Path, web: Gateway) -> None:
    """Logged out, /dashboards leads to the login page; a failed login keeps the email; the nav links
    the dashboards; a rule is broken in words, never a regular expression; a disabled button looks
    disabled; after "Create episode" the form gives way to the progress."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    email = f"rough-{uuid.uuid4().hex[:6]}@example.org"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.set_default_timeout(30_000)

        page.goto(web.url + "/dashboards")
        page.wait_for_url("**/login?next=/dashboards")
        page.fill("#email", email)
        page.fill("#password", "not the password")
        page.click("main button[type=submit]")
        expect(page.locator("p.error")).to_be_visible()
        expect(page.locator("#email")).to_have_value(email)

        page.goto(web.url + "/register")
        page.fill("#email", email)
        page.fill("#display_name", "Rough Edges")
        page.fill("#password", "browser password")
        page.click("main button[type=submit]")
        page.wait_for_url("**/shows/new")
        page.click("header nav >> text=Dashboards")
        page.wait_for_url("**/dashboards")
        expect(page.locator("h1")).to_contain_text("Dashboards")

        page.goto(web.url + "/shows/new")
        page.fill("#title", "Rough Radio")
        page.fill("#language", "English!")
        page.click("form.stack button[type=submit]")
        error = page.locator("p.error")
        expect(error).to_contain_text("language: must be a language code such as en or en-US")
        assert "^" not in error.inner_text() and "pattern" not in error.inner_text()
        page.fill("#language", "en")
        page.fill("#sources", SAMPLES_FEED)
        page.click("form.stack button[type=submit]")
        page.wait_for_url("**/shows/rough-radio")

        page.click("text=New episode")
        button = page.locator("#episode-form button[type=submit]")
        enabled = button.evaluate("b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).cursor]")
        button.evaluate("b => { b.disabled = true; }")
        disabled = button.evaluate("b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).cursor]")
        assert disabled[0] != enabled[0] and disabled[1] == "not-allowed", (enabled, disabled)
        button.evaluate("b => { b.disabled = false; }")

        page.fill("#topic", "Balcony solar panels for renters")
        button.click()
        expect(page.locator("#progress")).to_be_visible()
        expect(page.locator("#episode-form")).to_be_hidden()
        page.screenshot(path=str(ARTIFACTS / "browser-rough-edges.png"), full_page=True)
        browser.close()
