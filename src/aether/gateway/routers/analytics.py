"""HTTP: the dashboards page and each report as JSON, CSV and SVG (included by aether.gateway.app).

GET /v1/analytics                         the reports available
GET /v1/analytics/{report}                JSON rows   (?from=YYYY-MM-DD&to=YYYY-MM-DD&show_id=N)
GET /v1/analytics/{report}.csv            the same rows as CSV
GET /v1/analytics/{report}.svg            the chart, drawn by the server
GET /dashboards                           the page with every chart (admin: all shows; others: their own)
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from aether.analytics.dashboards import REPORTS, period, report, run_report, to_csv, to_svg
from aether.gateway.deps import DB, CurrentUser, OptionalUser
from aether.gateway.pages.render import login_redirect, render

router = APIRouter(tags=["analytics"])

From = Annotated[date | None, Query(alias="from", description="First day (UTC), default 29 days before `to`.")]
To = Annotated[date | None, Query(alias="to", description="Last day (UTC, inclusive), default today.")]
ShowId = Annotated[int | None, Query(ge=1, description="Only this show.")]


@router.get("/v1/analytics", summary="The dashboard reports available")
async def list_reports(user: CurrentUser) -> dict[str, Any]:
    return {
        "reports": [
            {"name": r.name, "title": r.title, "columns": list(r.columns), "formats": ["json", "csv", "svg"]}
            for r in REPORTS.values()
        ]
    }


@router.get(
    "/v1/analytics/{name}",
    summary="A dashboard report: JSON, or CSV / SVG with the .csv / .svg suffix",
    response_model=None,
)
async def get_report(
    name: str, user: CurrentUser, db: DB, first: From = None, last: To = None, show_id: ShowId = None
) -> Response | dict[str, Any]:
    base, _, suffix = name.rpartition(".") if name.endswith((".csv", ".svg", ".json")) else (name, "", "json")
    report(base)
    when = period(first, last)
    rows = await run_report(db, base, when, user_id=user.user_id, is_admin=user.is_admin, show_id=show_id)
    if suffix == "csv":
        filename = f"{base}_{when.first.isoformat()}_{when.last.isoformat()}.csv"
        return Response(
            to_csv(base, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    if suffix == "svg":
        return Response(to_svg(base, rows, when), media_type="image/svg+xml")
    return {
        "report": base,
        "from": when.first.isoformat(),
        "to": when.last.isoformat(),
        "columns": list(report(base).columns),
        "rows": rows,
    }


@router.get(
    "/dashboards",
    response_class=HTMLResponse,
    summary="Dashboards page (charts drawn by the server); logged out, a redirect to the login page",
)
async def dashboards_page(
    request: Request, user: OptionalUser, db: DB, first: From = None, last: To = None, show_id: ShowId = None
) -> Response:
    if user is None:  # a person with a browser: to the login page, and back here after it
        return login_redirect(request)
    when = period(first, last)
    sections = []
    for chosen in REPORTS.values():
        rows = await run_report(db, chosen.name, when, user_id=user.user_id, is_admin=user.is_admin, show_id=show_id)
        sections.append({"report": chosen, "svg": to_svg(chosen.name, rows, when), "rows": rows})
    query = f"?from={when.first.isoformat()}&to={when.last.isoformat()}" + (f"&show_id={show_id}" if show_id else "")
    return render(request, "dashboards.html", user, sections=sections, when=when, query=query, show_id=show_id)
