"""Subscribers: double opt-in through a real SMTP server, single-use confirmation, unsubscribe links,
the owner's list, errors."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from aether.config import Settings
from aether.db.pool import Database
from tests.gateway.conftest import Gateway, create_show, register, start_gateway
from tests.gateway.smtp import Inbox


@pytest.fixture
def mail_gateway(settings: Settings, smtp_server: tuple[Inbox, int]) -> Iterator[Gateway]:
    _, port = smtp_server
    gw, thread = start_gateway(settings.model_copy(update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{port}")}))
    yield gw
    gw.server.should_exit = True
    thread.join(timeout=30)


def _link(message: object, path: str) -> str:
    text = message.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    match = re.search(rf"https?://\S+{re.escape(path)}\?token=(\S+)", text)
    assert match, text
    return match.group(1)


async def test_double_opt_in_and_unsubscribe(
    mail_gateway: Gateway,
    smtp_server: tuple[Inbox, int],
    db: Database,
) -> None:
    inbox, _ = smtp_server
    with mail_gateway.client() as client:
        owner = register(client)
        show = create_show(client, owner, title="Mailed Show")
        r = client.post(f"/v1/public/shows/{show['slug']}/subscribers", json={"email": "Fan@Example.org"})
        assert r.status_code == 202 and r.json()["status"] == "pending"
        [mail] = inbox.to("Fan@Example.org")
        assert "Mailed Show" in mail["Subject"]
        assert mail["List-Unsubscribe"].startswith("<") and "/unsubscribe?token=" in mail["List-Unsubscribe"]
        confirm = _link(mail, "/subscribe/confirm")
        unsubscribe = _link(mail, "/unsubscribe")
        row = await db.fetch_one("SELECT status, confirmation_token_hash FROM subscribers")
        assert row is not None and row["status"] == "pending" and confirm not in row["confirmation_token_hash"]

        r = client.post("/v1/subscribers/confirm", json={"token": confirm})
        assert r.status_code == 200 and r.json()["status"] == "confirmed"
        r = client.post("/v1/subscribers/confirm", json={"token": confirm})  # single use
        assert r.status_code == 404 and r.json()["error"]["field"] == "token"

        # subscribing again (any case) neither duplicates nor mails a confirmed address
        r = client.post(f"/v1/public/shows/{show['slug']}/subscribers", json={"email": "fan@example.org"})
        assert r.status_code == 202
        assert len(inbox.messages) == 1
        assert (await db.fetch_one("SELECT count(*) AS n FROM subscribers"))["n"] == 1  # type: ignore[index]

        listed = client.get(f"/v1/shows/{show['id']}/subscribers", headers=owner["headers"]).json()["items"]
        assert [s["status"] for s in listed] == ["confirmed"]

        r = client.post("/v1/subscribers/unsubscribe", json={"token": unsubscribe})
        assert r.status_code == 200 and r.json()["status"] == "unsubscribed"
        row = await db.fetch_one("SELECT status FROM subscribers")
        assert row is not None and row["status"] == "unsubscribed"
        # the web page's one-click unsubscribe (RFC 8058) works with the same token
        r = client.post(f"/unsubscribe?token={unsubscribe}", data={"List-Unsubscribe": "One-Click"})
        assert r.status_code == 200


async def test_list_unsubscribe_is_raw_and_one_click_unsubscribes(
    mail_gateway: Gateway, smtp_server: tuple[Inbox, int], db: Database
) -> None:
    inbox, _ = smtp_server
    with mail_gateway.client() as client:
        show = create_show(client, register(client), title="A show with a rather long title " * 2)
        r = client.post(f"/v1/public/shows/{show['slug']}/subscribers", json={"email": "click@example.org"})
        assert r.status_code == 202
        [raw] = inbox.raw
        headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii").replace("\r\n ", " ").split("\r\n")
        [unsubscribe] = [h for h in headers if h.startswith("List-Unsubscribe:")]
        assert "=?" not in unsubscribe, unsubscribe  # not RFC 2047 encoded
        url = unsubscribe.removeprefix("List-Unsubscribe:").strip()
        assert url.startswith("<http") and url.endswith(">") and " " not in url
        assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in headers
        # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to that URL, with no cookie and no page
        r = client.post(url[1:-1], data={"List-Unsubscribe": "One-Click"})
        assert r.status_code == 200
        row = await db.fetch_one("SELECT status FROM subscribers WHERE email = %s", ("click@example.org",))
        assert row is not None and row["status"] == "unsubscribed"


async def test_errors_and_ownership(mail_gateway: Gateway, smtp_server: tuple[Inbox, int], db: Database) -> None:
    inbox, _ = smtp_server
    with mail_gateway.client() as client:
        owner = register(client)
        other = register(client)
        show = create_show(client, owner)
        r = client.post(f"/v1/public/shows/{show['slug']}/subscribers", json={"email": "bad"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "email"
        r = client.post("/v1/public/shows/no-such-show/subscribers", json={"email": "a@example.org"})
        assert r.status_code == 404
        assert client.post("/v1/subscribers/confirm", json={"token": "x" * 20}).status_code == 404
        assert client.post("/v1/subscribers/unsubscribe", json={"token": "x" * 20}).status_code == 404
        assert client.post("/v1/subscribers/confirm", json={"token": "short"}).status_code == 422
        assert client.get(f"/v1/shows/{show['id']}/subscribers", headers=other["headers"]).status_code == 404
        client.post(f"/v1/public/shows/{show['slug']}/subscribers", json={"email": "x@example.org"})
        sid = (await db.fetch_one("SELECT id FROM subscribers"))["id"]  # type: ignore[index]
        assert client.delete(f"/v1/shows/{show['id']}/subscribers/{sid}", headers=other["headers"]).status_code == 404
        assert client.delete(f"/v1/shows/{show['id']}/subscribers/{sid}", headers=owner["headers"]).status_code == 204
        assert client.delete(f"/v1/shows/{show['id']}/subscribers/{sid}", headers=owner["headers"]).status_code == 404
        assert (await db.fetch_one("SELECT count(*) AS n FROM subscribers"))["n"] == 0  # type: ignore[index]
        assert len(inbox.messages) == 1


async def test_unreachable_smtp_writes_nothing(settings: Settings, db: Database) -> None:
    from tests.support import free_port

    gw, thread = start_gateway(settings.model_copy(update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{free_port()}")}))
    try:
        with gw.client() as client:
            owner = register(client)
            show = create_show(client, owner)
            r = client.post(f"/v1/public/shows/{show['slug']}/subscribers", json={"email": "a@example.org"})
            assert r.status_code == 503 and r.json()["error"]["code"] == "mail_failed"
    finally:
        gw.server.should_exit = True
        thread.join(timeout=30)
    assert (await db.fetch_one("SELECT count(*) AS n FROM subscribers"))["n"] == 0  # type: ignore[index]
