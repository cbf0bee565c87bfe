"""A real HTTP server on 127.0.0.1 that serves the feed fixtures and every kind of broken source."""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
HUGE_BYTES = 50 * 1024 * 1024
ETAG = '"museum-v1"'
LAST_MODIFIED = "Mon, 06 Oct 2025 09:00:00 GMT"

TYPES = {".xml": "application/rss+xml; charset=utf-8", ".html": "text/html; charset=utf-8"}
STATIC = {
    "/rss2.xml": "rss2.xml",
    "/atom.xml": "atom.xml",
    "/rss1.xml": "rss1.xml",
    "/summary.xml": "summary.xml",
    "/moved.xml": "moved.xml",
    "/malformed.xml": "malformed.xml",
    "/page.html": "page.html",
    "/articles/solar-sail.html": "articles/solar-sail.html",
    "/articles/coral.html": "articles/coral.html",
}


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    at: float


@dataclass
class FeedServer:
    server: ThreadingHTTPServer
    requests: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    extra: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location of a 302
    huge_sent: list[int] = field(default_factory=list)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def body(self, name: str) -> bytes:
        return (FIXTURES / name).read_bytes().replace(b"http://BASE", self.base.encode())


def make_handler(state: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            state.requests.append(Request(path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic()))
            try:
                self.route(path)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def route(self, path: str) -> None:
            if path in state.redirects:
                self.send(302, b"found", "text/plain", Location=state.redirects[path])
            elif path in state.extra:
                status, ctype, body = state.extra[path]
                self.send(status, body, ctype)
            elif path in STATIC:
                name = STATIC[path]
                self.send(200, state.body(name), TYPES[Path(name).suffix])
            elif path == "/gzip.xml":
                packed = gzip.compress(state.body("gzip.xml"))
                self.send(200, packed, TYPES[".xml"], Content_Encoding="gzip")
            elif path == "/old-feed.xml":
                self.send(301, b"moved", "text/plain", Location="/moved.xml")
            elif path == "/hop.xml":
                self.send(302, b"found", "text/plain", Location=state.url("/old-feed.xml"))
            elif path == "/etag.xml":
                if self.headers.get("If-None-Match") == ETAG or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                    self.send_response(304)
                    self.send_header("ETag", ETAG)
                    self.end_headers()
                    return
                self.send(200, state.body("etag.xml"), TYPES[".xml"], ETag=ETAG, Last_Modified=LAST_MODIFIED)
            elif path == "/missing.xml":
                self.send(404, b"<h1>Not Found</h1>", "text/html")
            elif path == "/error.xml":
                self.send(500, b"<h1>Internal Server Error</h1>", "text/html")
            elif path == "/slow.xml":
                state.release.wait(30)  # answers only when the test ends: the client must time out
                self.send(200, state.body("rss2.xml"), TYPES[".xml"])
            elif path in ("/huge.xml", "/huge-declared.xml"):
                self.huge(declared=path == "/huge-declared.xml")
            else:
                self.send(404, b"not found", "text/plain")

        def huge(self, *, declared: bool) -> None:
            """50 MB, generated while it is sent (never held in memory or on disk)."""
            self.send_response(200)
            self.send_header("Content-Type", TYPES[".xml"])
            if declared:
                self.send_header("Content-Length", str(HUGE_BYTES))
            self.end_headers()
            chunk = b"<!-- padding padding padding padding padding padding padding padding -->\n" * 14_000
            sent = 0
            head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
            self.wfile.write(head)
            sent += len(head)
            while sent < HUGE_BYTES:
                piece = chunk[: HUGE_BYTES - sent]
                self.wfile.write(piece)
                sent += len(piece)
                state.huge_sent.append(sent)

    return Handler


def start_feed_server(host: str = "127.0.0.1") -> FeedServer:
    server = ThreadingHTTPServer((host, 0), BaseHTTPRequestHandler)
    state = FeedServer(server=server)
    server.RequestHandlerClass = make_handler(state)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="feed-server", daemon=True).start()
    return state


def stop_feed_server(state: FeedServer) -> None:
    state.release.set()
    state.server.shutdown()
    state.server.server_close()
