"""Rejects text holding control characters or lone surrogates (aether.text.controls) anywhere a request
carries it: the path (named after the route's path parameter), query parameters, and the fields of JSON
and URL-encoded form bodies. The answer is 422 naming the field, before any route runs, so no such
character reaches a handler, the database or the log.

The body is read here only for JSON and URL-encoded forms (BodySizeLimit, outside this middleware, bounds
it) and handed on unchanged; other bodies stream through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aether.errors import ValidationFailed
from aether.gateway.errors import aether_error_response, wants_html
from aether.text.controls import check_text, check_value, first_invalid

CHECKED_BODIES = ("application/json", "application/x-www-form-urlencoded")


class RejectControlChars:
    """422 for a control character in the path, the query or a JSON / form body (see the module)."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_path(scope)
            self._check_query(scope)
        except ValidationFailed as exc:
            await self._reject(exc, scope, receive, send)
            return
        content_type = _content_type(scope)
        if content_type not in CHECKED_BODIES:
            await self.app(scope, receive, send)
            return
        body, replay = await _buffer(receive)
        try:
            _check_body(body, content_type)
        except ValidationFailed as exc:
            await self._reject(exc, scope, replay, send)
            return
        await self.app(scope, replay, send)

    def _check_path(self, scope: Scope) -> None:
        path: str = scope["path"]
        if first_invalid(path) is None:
            return
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.NONE:
                continue
            for name, value in child.get("path_params", {}).items():
                if isinstance(value, str):
                    check_text(value, name)
        check_text(path, "path")

    def _check_query(self, scope: Scope) -> None:
        raw = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(raw, keep_blank_values=True):
            check_text(name, "query")
            check_text(value, name)

    async def _reject(self, exc: ValidationFailed, scope: Scope, receive: Receive, send: Send) -> None:
        response = aether_error_response(exc, html=wants_html(Request(scope)))
        await response(scope, receive, send)


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return str(value.decode("latin-1")).split(";", 1)[0].strip().lower()
    return ""


def _check_body(body: bytes, content_type: str) -> None:
    if content_type == "application/json":
        try:
            value = json.loads(body) if body else None
        except ValueError:
            return  # not JSON: the route answers that
        check_value(value)
        return
    for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
        check_text(name, "form")
        check_text(value, name)


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a `receive` that hands it on as one message (then the real stream's end)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
