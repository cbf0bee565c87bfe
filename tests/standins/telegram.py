"""A stand-in for the Telegram Bot API (https://core.telegram.org/bots/api), on 127.0.0.1.

It follows the documented protocol: `POST /bot<token>/<method>` with JSON, form or multipart/form-data
bodies; answers `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}`. Implements sendMessage and sendAudio (multipart with the `audio` file,
`thumbnail`, `title`, `performer`, `duration`, `caption`, `parse_mode`). Failure modes for tests:
`fail_next(status, times, retry_after=None)` answers the next calls with 429 (with retry_after), 5xx,
401 or 403; `revoke()` makes the token invalid (401 Unauthorized on every call).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.standins.base import Handler, StandinServer


@dataclass
class Sent:
    method: str
    chat_id: str
    message_id: int
    fields: dict[str, str]
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # name -> (filename, type, data)


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    message: Message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        data = part.get_payload(decode=True) or b""
        if filename:
            files[name] = (filename, part.get_content_type(), data)
        else:
            fields[name] = data.decode()
    return fields, files


class BotApiHandler(Handler):
    def do_POST(self) -> None:
        bot: TelegramStandin = self.standin
        body = self.body()
        parts = self.path.split("/")
        if len(parts) != 3 or not parts[1].startswith("bot"):
            self.reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, method = parts[1][3:], parts[2]
        content_type = self.headers.get("Content-Type", "")
        files: dict[str, tuple[str, str, bytes]] = {}
        if content_type.startswith("multipart/form-data"):
            fields, files = parse_multipart(content_type, body)
        elif content_type.startswith("application/json"):
            fields = {k: str(v) for k, v in json.loads(body or b"{}").items()}
        else:
            from urllib.parse import parse_qsl

            fields = dict(parse_qsl(body.decode()))
        status, payload = bot.handle(token, method, fields, files)
        self.reply(status, payload)


class TelegramStandin(StandinServer):
    def __init__(self, token: str = "123456:TEST-token") -> None:
        super().__init__(BotApiHandler)
        self.token = token
        self.revoked = False
        self.sent: list[Sent] = []
        self.calls: list[str] = []  # every call's method, including refused ones
        self._failures: list[tuple[int, int | None]] = []
        self._next_id = 100
        self._chat_failures: dict[str, tuple[int, int]] = {}

    def fail_next(self, status: int, times: int = 1, *, retry_after: int | None = None) -> None:
        with self.lock:
            self._failures.extend([(status, retry_after)] * times)

    def fail_chat(self, chat_id: str, status: int, times: int = 1) -> None:
        """Answer calls for `chat_id` with `status` the next `times` times (other chats are served)."""
        with self.lock:
            self._chat_failures[chat_id] = (status, times)

    def revoke(self) -> None:
        self.revoked = True

    def handle(
        self, token: str, method: str, fields: dict[str, str], files: dict[str, tuple[str, str, bytes]]
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.calls.append(method)
            if self.revoked or token != self.token:
                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            if self._failures:
                status, retry_after = self._failures.pop(0)
                descriptions = {
                    429: "Too Many Requests: retry after",
                    401: "Unauthorized",
                    403: "Forbidden: bot was kicked",
                }
                error: dict[str, Any] = {
                    "ok": False,
                    "error_code": status,
                    "description": descriptions.get(status, "Internal Server Error"),
                }
                if retry_after is not None:
                    error["parameters"] = {"retry_after": retry_after}
                    error["description"] += f" {retry_after}"
                return status, error
            if method not in ("sendMessage", "sendAudio"):
                return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            chat = fields.get("chat_id")
            status, times = self._chat_failures.get(chat or "", (0, 0))
            if times > 0:
                self._chat_failures[chat or ""] = (status, times - 1)
                return status, {"ok": False, "error_code": status, "description": "Bad Gateway"}
            if not chat:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"}
            if method == "sendMessage" and not fields.get("text"):
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
            if method == "sendAudio" and "audio" not in files:
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: there is no audio in the request",
                }
            self._next_id += 1
            self.sent.append(Sent(method, chat, self._next_id, fields, files))
            result: dict[str, Any] = {
                "message_id": self._next_id,
                "date": 1700000000,
                "chat": {"id": chat, "type": "channel" if chat.startswith("@") else "private"},
            }
            if method == "sendMessage":
                result["text"] = fields["text"]
            else:
                result["audio"] = {
                    "duration": int(fields.get("duration", "0")),
                    "performer": fields.get("performer"),
                    "title": fields.get("title"),
                    "mime_type": files["audio"][1],
                    "file_size": len(files["audio"][2]),
                }
                result["caption"] = fields.get("caption")
            return 200, {"ok": True, "result": result}
