"""Admin web pages: agents (status, reason, enable/disable) with masked credentials, and the audit log
with the filters of `aether audit`. Admins only; forms carry the session's CSRF token (checked by the
gateway's session dependency)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from aether.agents import registry
from aether.errors import AetherError, Forbidden
from aether.gateway.deps import DB, AppSettings, OptionalUser, client_ip
from aether.gateway.pages.render import render
from aether.security import audit, credentials
from aether.security.sessions import Session

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100


def _admin(request: Request, user: Session | None) -> Session | Response:
    if user is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    if not user.is_admin:
        raise Forbidden("this page needs the admin role")
    return user


@router.get("/admin/agents", response_class=HTMLResponse)
async def agents_page(request: Request, user: OptionalUser, db: DB, settings: AppSettings) -> Response:
    admin = _admin(request, user)
    if isinstance(admin, Response):
        return admin
    async with db.connection() as conn:
        agents = await registry.list_agents(conn)
        creds = await credentials.list_credentials(conn, settings)
    return render(request, "admin_agents.html", admin, agents=agents, credentials=creds)


@router.post("/admin/agents/{name}/{action}")
async def agent_action(name: str, action: str, request: Request, user: OptionalUser, db: DB) -> Response:
    admin = _admin(request, user)
    if isinstance(admin, Response):
        return admin
    if action not in ("enable", "disable"):
        raise Forbidden(f"unknown action {action!r}")
    async with db.transaction(actor=f"user:{admin.user_id}") as conn:
        await audit.set_audit_context(conn, client_addr=client_ip(request))
        if action == "enable":
            await registry.enable(conn, name)
        else:
            await registry.disable(conn, name, f"disabled by {admin.email}")
    return RedirectResponse("/admin/agents", status_code=303)


@router.get("/admin/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    user: OptionalUser,
    db: DB,
    settings: AppSettings,
    table: str | None = Query(None, max_length=128),
    actor: str | None = Query(None, max_length=200),
    action: str | None = Query(None, max_length=10),
    row_id: str | None = Query(None, max_length=500),
    since: str | None = Query(None, max_length=64),
    until: str | None = Query(None, max_length=64),
    before: int | None = Query(None, ge=1),
) -> Response:
    admin = _admin(request, user)
    if isinstance(admin, Response):
        return admin
    given = {"table": table, "actor": actor, "action": action, "row_id": row_id, "since": since, "until": until}
    given = {k: (v.strip() if v and v.strip() else None) for k, v in given.items()}
    error: str | None = None
    entries: list[audit.AuditEntry] = []
    async with db.connection(readonly=True) as conn:
        tables = await audit.audited_tables(conn)
        try:
            flt = audit.AuditFilter(
                table=given["table"],
                actor=given["actor"],
                action=given["action"],
                row_id=given["row_id"],
                since=audit.parse_time(given["since"], field="since"),
                until=audit.parse_time(given["until"], field="until"),
                before_id=before,
                limit=PAGE_SIZE + 1,
            )
            entries = await audit.search(conn, flt)
        except AetherError as exc:
            error = exc.message
    next_before = entries[PAGE_SIZE - 1].id if len(entries) > PAGE_SIZE else None
    query = {k: v for k, v in given.items() if v}
    next_url = f"/admin/audit?{urlencode({**query, 'before': next_before})}" if next_before else None
    return render(
        request,
        "admin_audit.html",
        admin,
        entries=entries[:PAGE_SIZE],
        tables=tables,
        filters=given,
        error=error,
        next_before=next_before,
        next_url=next_url,
    )
