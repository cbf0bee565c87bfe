"""One error shape everywhere: `{"error": {"code", "message", "field"}}` with the right 4xx/5xx.

`HTTP_STATUS` is the one place where Aether's errors (aether.errors) meet HTTP: an error's status is that
of its nearest class in the table (500 when none is)."""

from __future__ import annotations

import logging
from html import escape
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aether import errors
from aether.errors import AetherError, DatabaseUnavailable, rule_in_words
from aether.gateway.openapi import allowed_methods

log = logging.getLogger(__name__)


HTTP_STATUS: dict[type[AetherError], int] = {
    errors.BadRequest: 400,
    errors.ConfigError: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.PreconditionRequired: 428,
    errors.CredentialExpired: 409,
    errors.PayloadTooLarge: 413,
    errors.RangeNotSatisfiable: 416,
    errors.ValidationFailed: 422,
    errors.InputError: 422,
    errors.RateLimited: 429,
    errors.ProviderError: 502,
    errors.Unavailable: 503,
}


def http_status(exc: AetherError) -> int:
    """The HTTP status of `exc`: that of its nearest class in HTTP_STATUS, else 500."""
    for kind in type(exc).__mro__:
        if kind in HTTP_STATUS:
            return HTTP_STATUS[kind]
    return 500


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    412: "precondition_failed",
    416: "range_not_satisfiable",
    422: "invalid",
    429: "rate_limited",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, field), status_code=status)


def wants_html(request: Request) -> bool:
    """A browser asking for a web page (not the JSON API) gets errors as a page."""
    path = request.url.path
    if path.startswith(("/v1", "/media", "/static", "/docs", "/openapi")):
        return False
    return "text/html" in request.headers.get("accept", "")


def html_error(status: int, message: str) -> HTMLResponse:
    title = {401: "Please log in", 403: "Not allowed", 404: "Not found", 429: "Slow down"}.get(status, "Error")
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)} · Aether</title><link rel="stylesheet" href="/static/app.css"></head>'
        f'<body><main id="main"><h1>{escape(title)}</h1><p>{escape(message)}</p>'
        '<p><a href="/">Home</a></p></main></body></html>'
    )
    return HTMLResponse(body, status_code=status)


def _field_name(loc: Any) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


def validation_message(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    field = _field_name(err.get("loc", ())) or "body"
    if kind == "extra_forbidden":
        return f"{field}: unknown field"
    if kind == "missing":
        return f"{field}: field required"
    if kind == "json_invalid":
        return "the body is not valid JSON"
    return f"{field}: {rule_in_words(err)}"


DATABASE_DOWN = "the database is unavailable; try again shortly"


def aether_error_response(exc: AetherError, *, html: bool = False) -> Response:
    """The error shape (or page) for `exc`, with Retry-After when the error names one. A database
    outage is answered in general words (its details, the server's address, socket path, user and
    database name, go to the log only)."""
    if isinstance(exc, DatabaseUnavailable) and exc.message != DATABASE_DOWN:
        log.warning("database unavailable: %s", exc.message)
        exc = DatabaseUnavailable(DATABASE_DOWN)
    response: Response
    if html:
        response = html_error(http_status(exc), exc.message)
    else:
        response = error_response(http_status(exc), exc.code, exc.message, exc.field)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def _aether_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AetherError)
    return aether_error_response(exc, html=wants_html(request))


# A database outage must read 503 + Retry-After, never 500: aether.db wraps connection failures in
# DatabaseUnavailable; these catch what reaches a route unwrapped (a raw connection or a pool of its own).
DATABASE_ERRORS: tuple[type[Exception], ...] = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


async def _database_error(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    unavailable = DatabaseUnavailable(DATABASE_DOWN)
    return aether_error_response(unavailable, html=wants_html(request))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": "invalid"}
    if first.get("type") == "json_invalid":
        return error_response(400, "bad_request", "the body is not valid JSON", None)
    return error_response(422, "invalid", validation_message(first), _field_name(first.get("loc", ())))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    response: Response = (
        html_error(exc.status_code, message) if wants_html(request) else error_response(exc.status_code, code, message)
    )
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope))
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    # errors raised in middleware (outside the routes' exception handlers) arrive here too
    if isinstance(exc, AetherError):
        return await _aether_error(request, exc)
    if isinstance(exc, DATABASE_ERRORS):
        return await _database_error(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AetherError, _aether_error)
    for kind in DATABASE_ERRORS:
        app.add_exception_handler(kind, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


class BodySizeLimit:
    """Rejects request bodies over `limit` bytes with 413 before any handler runs (nothing is written)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    await self._reject(scope, receive, send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge(413, self._message())
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._reject(scope, receive, send)

    def _message(self) -> str:
        return f"the request body is larger than the limit of {self.limit} bytes"

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(413, "payload_too_large", self._message())(scope, receive, send)


class _BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` when a streamed body passes the limit. Not an Aether error but FastAPI's own
    signal: only an HTTPException passes through its body parsing (anything else becomes a 400)."""
