"""/docs (Swagger UI) and /redoc (ReDoc) in headless Chromium with every request off the gateway refused: the
pages load their scripts and styles from the gateway itself and render the API's operations."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import Gateway
from tests.gateway.test_browser import FLAGS, chromium

__all__ = ["chromium"]  # the fixture, shared with the other browser tests

pytestmark = pytest.mark.slow


def test_docs_and_redoc_render_with_no_network(chromium: Path, gateway: Gateway) -> None:
    from playwright.sync_api import Route, expect, sync_playwright

    refused: list[str] = []

    def only_the_gateway(route: Route) -> None:
        if route.request.url.startswith(gateway.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=FLAGS, headless=True)
        page = browser.new_page()
        page.set_default_timeout(30_000)
        page.route("**/*", only_the_gateway)

        page.goto(gateway.url + "/docs")
        expect(page.locator(".opblock").first).to_be_visible()
        assert page.locator(".opblock").count() >= 40  # every operation of the API
        expect(page.locator(".opblock-summary-path", has_text="/v1/shows").first).to_be_visible()

        page.goto(gateway.url + "/redoc")
        expect(page.get_by_text("Create a show").first).to_be_attached()
        browser.close()
    assert refused == []


def test_docs_pages_name_only_local_assets(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.url) as client:
        for page in ("/docs", "/redoc"):
            html = client.get(page).text
            assert "/docs-assets/" in html and "cdn." not in html and "fonts.googleapis" not in html, page
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
            r = client.get(f"/docs-assets/{asset}")
            assert r.status_code == 200 and len(r.content) > 10_000, asset
