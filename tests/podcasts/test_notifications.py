"""aether.podcasts.notifications: the new-episode mails sent exactly once per subscriber even when the task runs
again (a real aiosmtpd server on 127.0.0.1, the real idempotency guard)."""

from __future__ import annotations

import uuid

from psycopg.types.json import Jsonb
from pydantic import SecretStr

from aether.config import Settings
from aether.db import Database
from aether.idempotency import run_once
from aether.podcasts import notifications as mail
from aether.queue.tasks import TaskContext
from tests.gateway.smtp import Inbox, smtp_server  # noqa: F401  (fixture)


async def test_new_episode_mails_each_subscriber_once(
    settings: Settings,
    db: Database,
    smtp_server: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp_server
    settings = settings.model_copy(
        update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{port}"), "public_url": "https://pod.example"}
    )
    async with db.transaction() as conn:
        user = await (
            await conn.execute("INSERT INTO users (email, password_hash) VALUES ('o@example.org', 'x') RETURNING id")
        ).fetchone()
        show = await (
            await conn.execute(
                "INSERT INTO shows (user_id, slug, guid, title) VALUES (%s, 'mailed', %s, 'Mailed') RETURNING id",
                (user["id"], uuid.uuid4()),  # type: ignore[index]
            )
        ).fetchone()
        workflow = await (
            await conn.execute(
                "INSERT INTO workflow_instances (definition_name) VALUES ('podcast_episode') RETURNING workflow_id"
            )
        ).fetchone()
        story = {"url": "https://bees.example.org/hotels", "title": "Pollinator hotels", "publication": "Bee Times"}
        await conn.execute(
            "INSERT INTO task_instances (workflow_id, step_name, agent_name, task_type, status, output_summary)"
            " VALUES (%s, 'discover', 'tda', 'tda.gather', 'completed', %s)",
            (workflow["workflow_id"], Jsonb({"topics": [{"title": "Mason bees", "sources": [story]}]})),  # type: ignore[index]
        )
        episode_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO episodes (id, show_id, workflow_id, guid, title, status, params)"
            " VALUES (%s, %s, %s, %s, 'Ep 1', 'published', %s)",
            (episode_id, show["id"], workflow["workflow_id"], str(episode_id), Jsonb({"topic": "mason bees"})),  # type: ignore[index]
        )
        for address, status in (
            ("a@example.org", "confirmed"),
            ("b@example.org", "confirmed"),
            ("c@example.org", "pending"),
            ("d@example.org", "unsubscribed"),
        ):
            await conn.execute(
                "INSERT INTO subscribers (show_id, email, status) VALUES (%s, %s, %s)", (show["id"], address, status)
            )  # type: ignore[index]

    async def run_task(attempt: int) -> dict[str, object]:
        ctx = TaskContext(
            task_id=1,
            task_type="mail.notify_episode",
            agent="mail",
            attempt=attempt,
            settings=settings,
            db=db,
            workflow_id=str(workflow["workflow_id"]),  # type: ignore[index]
            once_impl=run_once,
        )
        return await mail.notify_episode(ctx, {"episode_id": str(episode_id)})

    assert await run_task(1) == {"episode_id": str(episode_id), "mailed": 2}
    await run_task(2)  # the retried task sends nothing again
    assert sorted(m["To"] for m in inbox.messages) == ["a@example.org", "b@example.org"]
    text = inbox.messages[0].get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert f"https://pod.example/episodes/{episode_id}" in text
    assert "https://pod.example/unsubscribe?token=" in text
    assert inbox.messages[0]["List-Unsubscribe"]
    # the show's name and the show notes, made when the episode was published without a release step
    assert inbox.messages[0]["Subject"] == "Mailed: Ep 1"
    assert inbox.messages[0]["From"] == "Mailed <aether@localhost>"
    row = await db.fetch_one("SELECT notes FROM episodes WHERE id = %s", (episode_id,))
    assert row is not None and row["notes"]["sources"][0]["url"] == "https://bees.example.org/hotels"
    assert row["notes"]["text"] in text and "- Pollinator hotels (Bee Times): https://bees.example.org/hotels" in text
    html = inbox.messages[0].get_body(("html",)).get_content()
    assert '<a href="https://bees.example.org/hotels">Pollinator hotels</a> (Bee Times)' in html
