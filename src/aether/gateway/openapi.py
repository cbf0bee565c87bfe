"""The OpenAPI document at /openapi.json, made true to what the routes answer.

FastAPI describes bodies, parameters and success answers; `document(app)` adds what it cannot see:

- every error answer an operation can give, in the one error shape (`{"error": {"code", "message", "field"}}`,
  aether.gateway.errors): 400 (a body that is not JSON), 401/403 (who may call it: a route that depends on
  the session can answer 401, an admin route and a cookie-authenticated write 403), 404 (an id in the path
  or the body that is not the caller's), 409 (a write that conflicts), 412/428 (If-Match), 413 (a body over
  AETHER_MAX_BODY_BYTES), 422 (input that breaks a rule: FastAPI's own 422 schema is replaced, since the
  gateway answers its error shape), 429 where logins are limited;
- how to authenticate: a bearer token or the session cookie (`securitySchemes`), per operation;
- the `Idempotency-Key` / `X-Idempotency-Key` / `X-Workflow-ID` headers of the routes built by
  `aether.idempotency.idempotent_route` (their 400, 409 and 422 answers too).

`allowed_methods(app, scope)` lists the methods a path answers, for the `Allow` header of a 405.

`install(app)` serves the document and its readers, /docs (Swagger UI) and /redoc (ReDoc), with their scripts
and styles from the `fastapi-offline` package under /docs-assets: they work with no network.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.routing import compile_path
from starlette.types import Scope

from aether.gateway import deps
from aether.idempotency import HEADER, MAX_KEY, MAX_SCOPE, SCOPE_HEADER, SEED_HEADER, HttpPolicy

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "the kind of error, e.g. not_found, invalid"},
                "message": {"type": "string", "description": "what is wrong, for people"},
                "field": {"type": ["string", "null"], "description": "the input it is about"},
            },
        }
    },
}

DESCRIPTIONS = {
    400: "Malformed request: a body that is not JSON, or a missing or malformed header",
    401: "Not logged in: no session, or a bearer token that is unknown, expired or revoked",
    403: "Not allowed: the admin role is needed, or a cookie session sent no CSRF token",
    404: "Not found, or not the caller's",
    409: "Conflicts with the current state (or the same Idempotency-Key is still being processed)",
    412: "If-Match names another version than the current one",
    413: "The request body is larger than AETHER_MAX_BODY_BYTES",
    422: "Invalid input: the error names the field and the rule it breaks",
    428: "If-Match is missing",
    429: "Too many attempts: retry after Retry-After seconds",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}

# Answers that no dependency shows: a login is refused (401) and limited per email and address (429,
# aether.security.sessions).
EXTRA_STATUSES: dict[tuple[str, str], set[int]] = {("post", "/v1/sessions"): {401, 429}}

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "a token from POST /v1/sessions"},
    "session": {"type": "apiKey", "in": "cookie", "name": deps.SESSION_COOKIE, "description": "the web login"},
}
UNSAFE = {"post", "put", "patch", "delete"}
OPENAPI_URL = "/openapi.json"


def calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from calls(sub)


def idempotency_parameters(policy: HttpPolicy) -> list[dict[str, Any]]:
    key = {"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": "^[!-~]+$"}
    return [
        {
            "name": HEADER,
            "in": "header",
            "required": False,  # either this or X-Idempotency-Key, which OpenAPI cannot say (400 without both)
            "description": (
                "a fresh key (a UUID) per request: a retry with the same key gets the first answer"
                + (f"; this or {SEED_HEADER} is required" if policy.required else "")
            ),
            "schema": key,
        },
        {"name": SEED_HEADER, "in": "header", "required": False, "description": f"the same as {HEADER}", "schema": key},
        {
            "name": SCOPE_HEADER,
            "in": "header",
            "required": False,
            "description": "scopes the key to a workflow",
            "schema": {"type": "string", "maxLength": MAX_SCOPE, "pattern": "^[ -~]*$"},
        },
    ]


def error_statuses(route: APIRoute, method: str, operation: dict[str, Any], path: str) -> set[int]:
    used = set(calls(route.dependant))
    session = deps.optional_session in used
    params = operation.get("parameters", [])
    statuses = {422}
    if route.body_field is not None:
        statuses |= {400, 404, 413}
    if session:
        statuses.add(401)
        if method in UNSAFE:
            statuses.add(403)  # a cookie session without its CSRF token
    if deps.require_admin in used:
        statuses.add(403)
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)
    if any(p.get("in") == "header" and p.get("name", "").lower() == "if-match" for p in params):
        statuses |= {412, 428}
    if method in UNSAFE:
        statuses.add(409)
    if getattr(route, "idempotency", None) is not None:
        statuses |= {400, 409, 422}
    return statuses | EXTRA_STATUSES.get((method, path), set())


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with the additions of this module's docstring."""
    doc = get_openapi(
        title=app.title, version=app.version, summary=app.summary, description=app.description, routes=app.routes
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        path_item = doc["paths"].get(context.path_format or route.path_format, {})
        for method in (m.lower() for m in route.methods or ()):
            operation = path_item.get(method)
            if operation is None:
                continue
            policy: HttpPolicy | None = getattr(route, "idempotency", None)
            if policy is not None and method.upper() in policy.methods:
                operation.setdefault("parameters", []).extend(idempotency_parameters(policy))
            used = set(calls(route.dependant))
            if deps.current_user in used:
                operation["security"] = [{"bearer": []}, {"session": []}]
            elif deps.optional_session in used:
                operation["security"] = [{}, {"bearer": []}, {"session": []}]
            responses = operation.setdefault("responses", {})
            for status in sorted(error_statuses(route, method, operation, context.path_format or route.path_format)):
                answer = responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
                if status == 422:
                    answer["description"] = DESCRIPTIONS[422]
                answer["content"] = error
                if status == 429:
                    answer["headers"] = RETRY_AFTER
    return doc


ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs-assets"


def install(app: FastAPI) -> None:
    """Serve `document(app)` at /openapi.json (built once, on the first request), /docs and /redoc. The app
    is made with docs_url=None and redoc_url=None, so that these pages are the only ones."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    title = f"{app.title} API"

    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title=title,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        )

    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=OPENAPI_URL,
            title=title,
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )

    async def redoc_js(request: Request) -> Response:
        return Response(_redoc_js(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    app.add_route(f"{ASSETS_PATH}/redoc.standalone.js", redoc_js, include_in_schema=False)
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="docs-assets")


REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache(maxsize=1)
def _redoc_js() -> bytes:
    """ReDoc's bundle with its one remote URL (the "API docs by Redocly" logo) pointed at a local image."""
    return (ASSETS / "redoc.standalone.js").read_bytes().replace(REDOC_LOGO, f"{ASSETS_PATH}/favicon.png".encode())


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """The methods the routes of `app` answer at the path of `scope`, for the `Allow` header of a 405 (Starlette
    names only those of the first route whose path matches)."""
    methods: set[str] = set()
    path = scope.get("path", "")
    for context in iter_route_contexts(app.routes):
        route_methods = getattr(context.original_route, "methods", None)
        if context.path and route_methods and compile_path(context.path)[0].match(path):
            methods |= set(route_methods)
    return sorted(methods)
