"""New-episode notices to subscribers, sent through aether.podcasts.mail. The task handler
`mail.notify_episode` mails a published episode to the show's confirmed subscribers; each mail goes
through the idempotency guard (`ctx.once`, keyed per episode and subscriber), so a retried task never
sends a mail twice.

Every publication enqueues this task (the release step, or the workflow's completion), so it is also
where an episode published without a release step gets its show notes (`release.ensure_notes`). The mail
carries them: the summary, the sources with their links and the chapter times, as text and as HTML.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from html import escape
from typing import Any

from aether.config import Settings
from aether.db import AsyncConnection, load_queries
from aether.errors import PermanentError
from aether.podcasts.mail import build_message, send
from aether.podcasts.plan import public_url
from aether.podcasts.release import ensure_notes
from aether.podcasts.subscribers import unsubscribe_token
from aether.queue.tasks import Blueprint, TaskContext

log = logging.getLogger(__name__)
Q = load_queries(__file__, "notifications.sql")

# ---- new episodes -------------------------------------------------------------------------------


def episode_mail(
    settings: Settings,
    episode: dict[str, Any],
    subscriber: dict[str, Any],
    base_url: str,
    unsubscribe_token: str,
    notes: dict[str, Any] | None = None,
) -> EmailMessage:
    show, title = str(episode["show_title"]), str(episode["title"])
    page = f"{base_url}/episodes/{episode['id']}"
    unsubscribe = f"{base_url}/unsubscribe?token={unsubscribe_token}"
    about = str(notes["text"]) if notes else str(episode.get("description") or "")
    text = (
        f"A new episode of {show} is out:\n\n{title}\n\n{about}\n\n"
        f"Listen: {page}\n\n"
        f"You get this mail because you subscribed to {show}.\n"
        f"Unsubscribe: {unsubscribe}\n"
    )
    about_html = str(notes["html"]) if notes else f"<p>{escape(str(episode.get('description') or ''))}</p>"
    body = (
        f"<p>A new episode of <strong>{escape(show)}</strong> is out:</p>"
        f'<h2><a href="{escape(page, quote=True)}">{escape(title)}</a></h2>{about_html}'
        f'<p><a href="{escape(page, quote=True)}">Listen</a></p>'
        f"<p>You get this mail because you subscribed to {escape(show)}. "
        f'<a href="{escape(unsubscribe, quote=True)}">Unsubscribe</a></p>'
    )
    message = build_message(
        settings, subscriber["email"], f"{show}: {title}", text, html=body, unsubscribe_url=unsubscribe
    )
    message.replace_header("From", formataddr((show, parseaddr(settings.smtp_from)[1])))  # from the show
    return message


async def confirmed_subscribers(conn: AsyncConnection, episode_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    cur = await conn.execute(Q.episode_for_mail, {"id": episode_id})
    episode = await cur.fetchone()
    if episode is None:
        raise PermanentError(f"no episode {episode_id}")
    cur = await conn.execute(Q.confirmed_subscribers, {"show_id": episode["show_id"]})
    return dict(episode), [dict(r) for r in await cur.fetchall()]


tasks = Blueprint()


@tasks.task("mail.notify_episode", agent="mail")
async def notify_episode(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Mail a published episode to its show's confirmed subscribers, each exactly once."""
    episode_id = payload.get("episode_id")
    if not isinstance(episode_id, str):
        raise PermanentError("payload.episode_id must be the episode's id")
    async with ctx.db.transaction() as conn:
        notes = await ensure_notes(conn, ctx.settings, episode_id)
    async with ctx.db.connection() as conn:
        episode, subscribers = await confirmed_subscribers(conn, episode_id)
        tokens = {s["id"]: await unsubscribe_token(conn, s["id"], s["email"]) for s in subscribers}
    base = public_url(ctx.settings)
    sent = 0
    for subscriber in subscribers:
        ctx.raise_if_cancelled()

        async def deliver(subscriber: dict[str, Any] = subscriber) -> dict[str, Any]:
            message = episode_mail(ctx.settings, episode, subscriber, base, tokens[subscriber["id"]], notes)
            message_id = await send(ctx.settings, message, ctx.db)
            return {"message_id": message_id, "to": subscriber["email"]}

        await ctx.once(f"mail:episode:{episode_id}:subscriber:{subscriber['id']}", deliver)
        sent += 1
    return {"episode_id": episode_id, "mailed": sent}
