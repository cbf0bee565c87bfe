"""Stand-in for Amazon S3's object API (path-style PutObject, HeadObject, GetObject with Range), enough
for obstore's S3Store; objects live in memory."""

from __future__ import annotations

import hashlib
from email.utils import formatdate
from typing import Any

from tests.standins.base import Handler, StandinServer


class S3Handler(Handler):
    def _key(self) -> str:
        return self.path.split("?", 1)[0]

    def _headers(self, data: bytes) -> dict[str, str]:
        return {
            "ETag": '"' + hashlib.md5(data).hexdigest() + '"',
            "Last-Modified": formatdate(usegmt=True),
            "Content-Type": "application/octet-stream",
        }

    def do_PUT(self) -> None:
        data = self.body()
        with self.standin.lock:
            self.standin.objects[self._key()] = data
            self.standin.puts.append(self._key())
        self.send_response(200)
        for key, value in self._headers(data).items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _get(self, with_body: bool) -> None:
        data = self.standin.objects.get(self._key())
        if data is None:
            body = b"<Error><Code>NoSuchKey</Code><Message>not found</Message></Error>"
            self.send_response(404)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)
            return
        status, payload, extra = 200, data, {}
        ranged = self.headers.get("Range")
        if ranged and ranged.startswith("bytes="):
            start_s, _, end_s = ranged[6:].partition("-")
            start = int(start_s)
            end = int(end_s) if end_s else len(data) - 1
            payload = data[start : end + 1]
            status = 206
            extra["Content-Range"] = f"bytes {start}-{start + len(payload) - 1}/{len(data)}"
        self.send_response(status)
        for key, value in {**self._headers(data), **extra}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if with_body:
            self.wfile.write(payload)

    def do_GET(self) -> None:
        self._get(True)

    def do_HEAD(self) -> None:
        self._get(False)


class S3Standin(StandinServer):
    def __init__(self) -> None:
        super().__init__(S3Handler)
        self.objects: dict[str, bytes] = {}
        self.puts: list[str] = []

    def env(self) -> dict[str, Any]:
        return {
            "AWS_ENDPOINT": self.url,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "standin",
            "AWS_SECRET_ACCESS_KEY": "standin-secret",
            "AWS_REGION": "us-east-1",
        }
