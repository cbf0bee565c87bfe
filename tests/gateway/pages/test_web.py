"""Server-rendered pages over HTTP: CSRF on forms, login/register/logout, account (preferences,
sessions), admin (users, workflows, tasks), feed links on the home and show pages."""

from __future__ import annotations

import re

from aether.config import Settings
from aether.db.pool import Database
from tests.gateway.conftest import Gateway, create_show, publish_episode, register


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


async def test_register_login_logout_with_csrf(gateway: Gateway, db: Database) -> None:
    with gateway.client(follow_redirects=False) as browser:
        page = browser.get("/register").text
        r = browser.post("/register", data={"email": "w@example.org", "password": "  web password  "})
        assert r.status_code == 403  # no CSRF token
        assert (await db.fetch_one("SELECT count(*) AS n FROM users"))["n"] == 0  # type: ignore[index]
        r = browser.post(
            "/register", data={"csrf_token": _csrf(page), "email": "w@example.org", "password": "  web password  "}
        )
        assert r.status_code == 303 and r.headers["location"] == "/shows/new"
        cookie = r.cookies.get("aether_session")
        assert (
            cookie
            and "httponly" in r.headers["set-cookie"].lower()
            and "samesite=lax" in r.headers["set-cookie"].lower()
        )
        account = browser.get("/account")
        assert account.status_code == 200 and "w@example.org" in account.text
        r = browser.post("/account/preferences", data={"csrf_token": _csrf(account.text), "episode_minutes": "9"})
        assert r.status_code == 303
        assert browser.get("/v1/me/preferences").json()["preferences"] == {"episode_minutes": 9}
        r = browser.post("/account/preferences", data={"csrf_token": "forged", "episode_minutes": "3"})
        assert r.status_code == 403
        r = browser.post("/logout", data={"csrf_token": _csrf(account.text)})
        assert r.status_code == 303
        assert browser.get("/account").status_code == 303  # back to the login page
        login_page = browser.get("/login").text
        r = browser.post(
            "/login", data={"csrf_token": _csrf(login_page), "email": "w@example.org", "password": "wrong pw!"}
        )
        assert r.status_code == 401 and "wrong email or password" in r.text
        r = browser.post(  # the password exactly as typed at registration: its spaces count
            "/login", data={"csrf_token": _csrf(login_page), "email": "w@example.org", "password": "web password"}
        )
        assert r.status_code == 401
        r = browser.post(
            "/login",
            data={
                "csrf_token": _csrf(login_page),
                "email": "w@example.org",
                "password": "  web password  ",
                "next": "/account",
            },
        )
        assert r.status_code == 303 and r.headers["location"] == "/account"


async def test_pages_link_feeds_and_show_episodes(gateway: Gateway, db: Database, settings: Settings) -> None:
    with gateway.client() as client:
        auth = register(client)
        show = create_show(client, auth, title="Linked Show")
        episode_id = await publish_episode(db, settings.home, show["id"], "Linked episode")
        home = client.get("/").text
        assert '<link rel="alternate" type="application/rss+xml"' in home and "/shows/linked-show/feed.xml" in home
        assert "Linked episode" in home
        page = client.get("/shows/linked-show").text
        assert 'type="application/rss+xml"' in page and 'href="/shows/linked-show/feed.xml"' in page
        episode = client.get(f"/episodes/{episode_id}").text
        assert f"/media/episodes/{episode_id}/audio" in episode and "<audio" in episode
        cover = client.get("/shows/linked-show/cover.png")
        assert cover.status_code == 200 and cover.content.startswith(b"\x89PNG")
        assert (
            client.get("/shows/linked-show/cover.png", headers={"If-None-Match": cover.headers["etag"]}).status_code
            == 304
        )


async def test_admin_page_and_task_actions(gateway: Gateway, db: Database) -> None:
    with gateway.client(follow_redirects=False) as client:
        admin = register(client)
        user = register(client)
        task = await db.fetch_one(
            "INSERT INTO tasks (task_type, agent_name, status) VALUES ('demo.work', 'demo', 'pending') RETURNING id"
        )
        assert task is not None
        client.cookies.set("aether_session", user["token"])
        assert client.get("/admin", headers={"Accept": "text/html"}).status_code == 403
        client.cookies.set("aether_session", admin["token"])
        page = client.get("/admin")
        assert page.status_code == 200 and user["email"] in page.text and "demo.work" in page.text
        r = client.post(f"/admin/tasks/{task['id']}/cancel", data={"csrf_token": _csrf(page.text)})
        assert r.status_code == 303
        assert (await db.fetch_one("SELECT status FROM tasks WHERE id = %s", (task["id"],)))["status"] == "cancelled"  # type: ignore[index]
        r = client.post(f"/admin/tasks/{task['id']}/retry", data={"csrf_token": _csrf(page.text)})
        assert r.status_code == 303
        assert (await db.fetch_one("SELECT status FROM tasks WHERE id = %s", (task["id"],)))["status"] == "pending"  # type: ignore[index]
        r = client.post(f"/admin/tasks/{task['id']}/explode", data={"csrf_token": _csrf(page.text)})
        assert r.status_code == 404


async def test_new_show_form_offers_apple_categories(gateway: Gateway, db: Database) -> None:
    with gateway.client(follow_redirects=False) as browser:
        page = browser.get("/register").text
        data = {"csrf_token": _csrf(page), "email": "cat@example.org", "password": "web password"}
        assert browser.post("/register", data=data).status_code == 303
        form = browser.get("/shows/new").text
        assert '<select id="category" name="category">' in form
        assert "<option selected>Technology</option>" in form and "<option>Science &gt; Physics</option>" in form
        r = browser.post("/shows/new", data={"csrf_token": _csrf(form), "title": "Bad", "category": "Basket Weaving"})
        assert r.status_code == 422 and "Apple Podcasts category" in r.text
        r = browser.post(
            "/shows/new", data={"csrf_token": _csrf(form), "title": "Physics Now", "category": "Science > Physics"}
        )
        assert r.status_code == 303
        row = await db.fetch_one("SELECT category FROM shows WHERE title = 'Physics Now'")
        assert row is not None and row["category"] == "Science > Physics"
