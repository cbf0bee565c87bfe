"""The one Jinja environment of the web pages (`gateway/templates/`) and `render`, which every page
goes through: it adds the user, the CSRF token for the page's forms and the base URL to the context.
The filter `when` shows a moment to the second (`2026-12-03 08:15:06`), never with microseconds."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from aether.gateway.deps import ANON_CSRF_COOKIE, base_url, is_https
from aether.podcasts import categories
from aether.security.sessions import Session, csrf_token

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
templates.env.globals["podcast_categories"] = categories.CATEGORIES  # the show form's choices


def when(value: Any) -> str:
    """A timestamp to the second (UTC, as stored); text as it is; nothing for None."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


templates.env.filters["when"] = when


def _csrf_for(request: Request, user: Session | None) -> tuple[str, bool]:
    """The CSRF token for forms on this page, and whether the anonymous cookie must be set."""
    if user is not None:
        return csrf_token(user.token), False
    existing = request.cookies.get(ANON_CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing, False
    return secrets.token_urlsafe(32), True


def render(request: Request, name: str, user: Session | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    token, set_cookie = _csrf_for(request, user)
    settings = request.app.state.settings
    response = templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": token, "base": base_url(request, settings), **context},
        status_code=status_code,
    )
    if set_cookie:
        response.set_cookie(
            ANON_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=is_https(request, settings), path="/"
        )
    return response


def login_redirect(request: Request) -> RedirectResponse:
    """To the login page, coming back to this page after logging in."""
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
