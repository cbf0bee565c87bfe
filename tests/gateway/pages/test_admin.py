"""The admin overview: periodic chores (shows.tick every minute) are one line per task type instead of a
row per run, with their last failure; tasks and workflows show their reason; no timestamp carries
microseconds."""

from __future__ import annotations

import re

from psycopg.types.json import Jsonb

from aether.db import Database
from tests.gateway.conftest import Gateway, register


async def test_chores_are_summed_up_and_times_are_to_the_second(gateway: Gateway, db: Database) -> None:
    with gateway.client(follow_redirects=False) as client:
        admin = register(client)
        async with db.transaction() as conn:
            for _ in range(30):
                await conn.execute(
                    "INSERT INTO tasks (task_type, agent_name, status, created_at)"
                    " VALUES ('shows.tick', 'shows', 'completed', LOCALTIMESTAMP)"
                )
            await conn.execute(
                "INSERT INTO tasks (task_type, agent_name, status, last_error)"
                " VALUES ('shows.tick', 'shows', 'failed', %s)",
                (
                    Jsonb(
                        {"message": "TickError: x", "code": "schedule_broken", "reason": "the cron of show 7 is wrong"}
                    ),
                ),
            )
            await conn.execute(
                "INSERT INTO tasks (task_type, agent_name, status, attempts, last_error)"
                " VALUES ('mail.notify_episode', 'mail', 'failed', 5, %s)",
                (Jsonb({"message": "MailError: could not send mail through smtp.example.org:587: refused"}),),
            )
        client.cookies.set("aether_session", admin["token"])
        page = client.get("/admin")
        assert page.status_code == 200
        html = page.text
        tasks = html[html.index('id="tasks"') : html.index('id="chores"')]
        chores = html[html.index('id="chores"') :]
        assert "shows.tick" not in tasks and tasks.count("mail.notify_episode") == 1
        assert "could not send mail through smtp.example.org:587: refused" in tasks and "task_failed" in tasks
        row = re.search(r"<tr><td>shows\.tick</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", chores)
        assert row is not None and row.groups() == ("31", "1", "0")
        assert "the cron of show 7 is wrong" in chores and "schedule_broken" in chores
        assert re.search(r"\d{2}:\d{2}:\d{2}\.\d", html) is None  # no microseconds anywhere
        assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}<", chores) is not None
