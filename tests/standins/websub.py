"""A stand-in for a WebSub hub (W3C WebSub, section 7 "publishing"): accepts `hub.mode=publish` with one
or more `hub.url` form fields and answers 204; `fail_next(status, times)` answers errors first."""

from __future__ import annotations

from urllib.parse import parse_qsl

from tests.standins.base import Handler, StandinServer


class HubHandler(Handler):
    def do_POST(self) -> None:
        hub: WebSubHubStandin = self.standin
        content_type = self.headers.get("Content-Type", "")
        fields = parse_qsl(self.body().decode())
        with hub.lock:
            if hub.failures:
                self.reply(hub.failures.pop(0), {"error": "hub unavailable"})
                return
        if not content_type.startswith("application/x-www-form-urlencoded"):
            self.reply(400, {"error": "expected a form"})
            return
        if ("hub.mode", "publish") not in fields:
            self.reply(400, {"error": "hub.mode must be publish"})
            return
        urls = [v for k, v in fields if k == "hub.url"]
        if not urls:
            self.reply(400, {"error": "hub.url is required"})
            return
        hub.pings.append(urls)
        self.reply(204)


class WebSubHubStandin(StandinServer):
    def __init__(self) -> None:
        super().__init__(HubHandler)
        self.pings: list[list[str]] = []
        self.failures: list[int] = []

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([status] * times)
