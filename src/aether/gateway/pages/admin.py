"""Admin web pages: the overview (`/admin`: users; workflows and tasks, each failed one with its reason
and a link to its episode; the periodic chores such as `shows.tick` summed up in one line per task type
instead of one row per run), agents (status, reason, enable/disable) with masked credentials, and the
audit log with the filters of `aether audit`. Admins only; forms carry the session's CSRF token (checked
by the gateway's session dependency)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from aether.agents import registry
from aether.db import load_queries
from aether.errors import AetherError, Forbidden
from aether.gateway.deps import DB, AppSettings, OptionalUser, client_ip
from aether.gateway.pages.render import login_redirect, render
from aether.podcasts.episodes import failure
from aether.security import accounts, audit, credentials
from aether.security.sessions import Session

Q = load_queries(__file__, "admin.sql")
router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100
OVERVIEW_ROWS = 50


def _admin(request: Request, user: Session | None) -> Session | Response:
    if user is None:
        return login_redirect(request)
    if not user.is_admin:
        raise Forbidden("this page needs the admin role")
    return user


def workflow_reason(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """{"step", "code", "message"} of a failed or cancelled workflow row (as the episode's `error` says it)."""
    step = {"step_name": row["failed_step"], "status": row["failed_status"], "error_details": row["failed_details"]}
    state = {
        "status": row["status"],
        "error_message": row["error_message"],
        "steps": [step] if row["failed_step"] else [],
    }
    return failure(state)


def task_reason(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """{"code", "message"} of a failed or cancelled task (or of a chore's last failed run), from the error
    the queue kept."""
    if row.get("status") not in ("failed", "cancelled") and not row.get("failed"):
        return None
    error = row.get("last_error") if isinstance(row.get("last_error"), Mapping) else {}
    assert isinstance(error, Mapping)
    code = str(error.get("code") or ("cancelled" if row.get("status") == "cancelled" else "task_failed"))
    return {"code": code, "message": str(error.get("reason") or error.get("message") or code)}


@router.get("/admin", response_class=HTMLResponse)
async def overview(request: Request, user: OptionalUser, db: DB) -> Response:
    admin = _admin(request, user)
    if isinstance(admin, Response):
        return admin
    async with db.connection() as conn:
        users = [dict(r) for r in await (await conn.execute(accounts.Q.list_users)).fetchall()]
        flows = [dict(r) for r in await (await conn.execute(Q.recent_workflows, {"limit": OVERVIEW_ROWS})).fetchall()]
        tasks = [dict(r) for r in await (await conn.execute(Q.recent_tasks, {"limit": OVERVIEW_ROWS})).fetchall()]
        chores = [dict(r) for r in await (await conn.execute(Q.chores)).fetchall()]
    for flow in flows:
        flow["reason"] = workflow_reason(flow)
    for row in [*tasks, *chores]:
        row["reason"] = task_reason(row)
    return render(request, "admin.html", admin, users=users, workflows=flows, tasks=tasks, chores=chores)


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
