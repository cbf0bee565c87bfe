"""Stand-in for an OpenAI-compatible images API: `POST /v1/images/generations` (bearer auth, `model` and
`prompt` required) answering `{"created", "data": [{"b64_json"}]}` or `[{"url"}]` (the picture served
from `/files/...`), or a queued error status with an OpenAI-style error body."""

from __future__ import annotations

import base64
import io
import json
import time
from typing import Any

from PIL import Image

from tests.standins.base import Handler, StandinServer


def picture_png(size: tuple[int, int] = (1024, 768), colour: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 64):
        image.paste((20, 200, 120), (x, 0, x + 16, size[1]))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class ImagesHandler(Handler):
    def do_POST(self) -> None:
        state: ImagesStandin = self.standin
        if self.path != "/v1/images/generations":
            self.reply(404, {"error": {"message": "not found"}})
            return
        if state.api_key and self.headers.get("Authorization") != f"Bearer {state.api_key}":
            self.reply(401, {"error": {"message": "Incorrect API key provided"}})
            return
        try:
            body = json.loads(self.body() or b"{}")
        except ValueError:
            self.reply(400, {"error": {"message": "invalid JSON"}})
            return
        state.requests.append(body)
        if not body.get("model") or not body.get("prompt"):
            self.reply(400, {"error": {"message": "model and prompt are required"}})
            return
        if state.errors:
            status = state.errors.pop(0)
            self.reply(status, {"error": {"message": f"stand-in error {status}"}})
            return
        png = picture_png()
        if state.mode == "url":
            state.files["/files/picture.png"] = png
            item: dict[str, Any] = {"url": f"{state.url}/files/picture.png"}
        else:
            item = {"b64_json": base64.b64encode(png).decode()}
        self.reply(200, {"created": int(time.time()), "data": [item]})

    def do_GET(self) -> None:
        data = self.standin.files.get(self.path)
        if data is None:
            self.reply(404, {"error": {"message": "not found"}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ImagesStandin(StandinServer):
    def __init__(self, *, api_key: str | None = "sk-test-images-0001", mode: str = "b64_json") -> None:
        super().__init__(ImagesHandler)
        self.api_key = api_key
        self.mode = mode
        self.requests: list[dict[str, Any]] = []
        self.errors: list[int] = []
        self.files: dict[str, bytes] = {}

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"
