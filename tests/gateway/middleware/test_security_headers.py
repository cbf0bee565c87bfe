"""Pages send a Content-Security-Policy (frame-ancestors 'none') and X-Frame-Options: DENY, and still work
under them in headless Chromium: log in, a show page, subscribing through htmx, the dashboards; no CSP
violation is reported, and a page that frames the app gets nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from aether.config import Settings
from aether.gateway.middleware.security_headers import POLICY
from tests.gateway.conftest import Gateway, create_show, register, start_gateway
from tests.gateway.smtp import Inbox
from tests.gateway.test_browser import FLAGS, chromium  # noqa: F401  (the chromium fixture)
from tests.support import wait_for


def test_every_page_and_answer_carries_the_headers(client: httpx.Client) -> None:
    for path in ("/", "/login", "/register", "/nowhere", "/v1/me", "/static/app.css"):
        r = client.get(path, headers={"Accept": "text/html"})
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["Content-Security-Policy"] == POLICY, path
    assert "frame-ancestors 'none'" in POLICY and "'unsafe-inline'" not in POLICY
    assert "Content-Security-Policy" not in client.get("/docs").headers  # FastAPI's own page, inline scripts


@pytest.fixture
def web(settings: Settings, smtp_server: tuple[Inbox, int]) -> Iterator[Gateway]:
    _, port = smtp_server
    gw, thread = start_gateway(settings.model_copy(update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{port}")}))
    yield gw
    gw.server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def framer(web: Gateway) -> Iterator[str]:
    """Another site (another origin) whose page frames the app's login page."""
    page = f'<!doctype html><title>framer</title><iframe id="app" src="{web.url}/login"></iframe>'.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}/"
    server.shutdown()
    thread.join(timeout=10)


@pytest.mark.slow
def test_pages_work_under_the_policy_in_a_browser(
    chromium: Path,  # noqa: F811
    web: Gateway,
    framer: str,
    smtp_server: tuple[Inbox, int],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    inbox, _ = smtp_server
    with web.client() as client:
        owner = register(client)
        show = create_show(client, owner, title="Policy Radio")
    violations: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=FLAGS, headless=True)
        page = browser.new_page()
        page.set_default_timeout(30_000)
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text or "Refused" in m.text else None,
        )
        page.goto(web.url + "/login")
        page.fill("#email", owner["email"])
        page.fill("#password", owner["password"])
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: not url.endswith("/login"))
        page.goto(f"{web.url}/shows/{show['slug']}")
        expect(page.locator("h1")).to_have_text("Policy Radio")
        page.fill("#subscribe-email", "listener@example.org")
        page.click("#subscribe-email ~ button[type=submit]")
        expect(page.locator("#subscribe-result")).not_to_be_empty()  # htmx swapped the answer in
        assert page.url.endswith(f"/shows/{show['slug']}")  # no full page load: htmx ran under the policy
        wait_for(lambda: inbox.to("listener@example.org"), timeout=30, what="the confirmation mail")
        page.goto(web.url + "/dashboards")
        expect(page.locator("h1")).to_have_text("Dashboards")

        framing = browser.new_page()
        framing.on("console", lambda m: violations.append(m.text) if "frame-ancestors" in m.text else None)
        framing.goto(framer)
        frame = framing.frame_locator("#app")
        expect(frame.locator("#email")).to_have_count(0)
        browser.close()
    blocked = [v for v in violations if "frame-ancestors" in v]
    others = [v for v in violations if "frame-ancestors" not in v]
    assert others == [], others
    assert blocked, "the framed page was not refused"
