"""A stand-in for an OpenAI-compatible chat-completions server (POST /v1/chat/completions), on 127.0.0.1.

It follows the public API: bearer authentication, `model` and `messages` required, a `choices` list with
`message.content` and `finish_reason`, and `usage` with prompt/completion/total token counts (here: words).
Tests queue the replies: a text (sent as the assistant's content), or an HTTP status with an error body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | tuple[int, dict[str, Any]] | Callable[[dict[str, Any]], str]


def count_tokens(text: str) -> int:
    return len(text.split())


@dataclass
class OpenAIStandin:
    server: ThreadingHTTPServer
    api_key: str | None = None
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    delay: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)
    retry_after: str | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _handler(state: OpenAIStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def answer(self, status: int, body: dict[str, Any], **headers: str) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(data)

        def error(self, status: int, message: str, kind: str) -> None:
            self.answer(status, {"error": {"message": message, "type": kind, "code": None}})

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                self.answer(200, {"object": "list", "data": [{"id": "standin-model", "object": "model"}]})
            else:
                self.error(404, "not found", "invalid_request_error")

        def do_POST(self) -> None:
            if self.path != "/v1/chat/completions":
                self.error(404, f"unknown path {self.path}", "invalid_request_error")
                return
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            state.headers.append({k.lower(): v for k, v in self.headers.items()})
            if state.api_key is not None and self.headers.get("Authorization") != f"Bearer {state.api_key}":
                self.error(401, "Incorrect API key provided.", "invalid_request_error")
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self.error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
                return
            state.requests.append(body)
            if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
                self.error(400, "you must provide a model parameter and messages", "invalid_request_error")
                return
            if state.delay:
                state.release.wait(state.delay)
            reply: Reply = state.replies.pop(0) if state.replies else "{}"
            if isinstance(reply, tuple):
                status, error = reply
                headers = {"Retry_After": state.retry_after} if state.retry_after is not None else {}
                self.answer(status, error, **headers)
                return
            content = reply(body) if callable(reply) else reply
            prompt = sum(count_tokens(str(m.get("content", ""))) for m in body["messages"])
            completion = count_tokens(content)
            self.answer(
                200,
                {
                    "id": f"chatcmpl-{len(state.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                    ],
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                    },
                },
            )

    return Handler


def start_openai_standin(api_key: str | None = None) -> OpenAIStandin:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = OpenAIStandin(server=server, api_key=api_key)
    server.RequestHandlerClass = _handler(state)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="openai-standin", daemon=True).start()
    return state
