"""Mail through SMTP (AETHER_SMTP_URL): subscription confirmations and new-episode notices.

`smtp://user:pass@host:587` uses STARTTLS when the server offers it, `smtps://host:465` implicit TLS;
without AETHER_SMTP_URL mails are written to the log. The task handler `mail.notify_episode` mails a
published episode to the show's confirmed subscribers; each mail goes through the idempotency guard
(`ctx.once`, keyed per episode and subscriber), so a retried task never sends a mail twice.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from aether.config import Settings
from aether.db import AsyncConnection, AsyncDatabase, load_queries
from aether.errors import ConfigError, MailError, PermanentError
from aether.queue.tasks import Blueprint, TaskContext

log = logging.getLogger(__name__)
Q = load_queries(__file__, "notifications.sql")

SMTP_TIMEOUT_S = 30.0


tasks = Blueprint()


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: str  # "auto" (when offered), "require", "never"


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError("AETHER_SMTP_URL must start with smtp:// or smtps://", field="AETHER_SMTP_URL")
    if not parts.hostname:
        raise ConfigError("AETHER_SMTP_URL must name a host, e.g. smtp://mail.example.org:587", field="AETHER_SMTP_URL")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("AETHER_SMTP_URL has an invalid port", field="AETHER_SMTP_URL") from None
    query = parse_qs(parts.query)
    starttls = (query.get("starttls") or ["auto"])[0]
    if starttls not in ("auto", "require", "never"):
        raise ConfigError("AETHER_SMTP_URL starttls= must be auto, require or never", field="AETHER_SMTP_URL")
    implicit = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=port or (465 if implicit else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit,
        starttls=starttls,
    )


def build_message(
    settings: Settings,
    to: str,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    domain = settings.smtp_from.rpartition("@")[2].strip("> ") or "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def send_now(settings: Settings, message: EmailMessage) -> str:
    """Send one message (blocking); returns its Message-ID. Without AETHER_SMTP_URL it is logged."""
    if settings.smtp_url is None:
        log.info("mail (no AETHER_SMTP_URL, not sent) to %s: %s\n%s", message["To"], message["Subject"], message)
        return str(message["Message-ID"])
    target = parse_smtp_url(settings.smtp_url.get_secret_value())
    try:
        if target.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host, target.port, timeout=SMTP_TIMEOUT_S, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_S)
        with client:
            client.ehlo()
            if not target.implicit_tls and target.starttls != "never":
                if client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                elif target.starttls == "require":
                    raise MailError(f"the SMTP server {target.host}:{target.port} does not offer STARTTLS")
            if target.username:
                client.login(target.username, target.password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"could not send mail through {target.host}:{target.port}: {exc}") from None
    return str(message["Message-ID"])


async def send(settings: Settings, message: EmailMessage, db: AsyncDatabase | AsyncConnection | None = None) -> str:
    """Send off the event loop; with `db`, an SMTP password kept in the credentials store is used."""
    if db is not None:
        from aether.security.credentials import with_stored_secrets

        settings = await with_stored_secrets(db, settings)
    return await asyncio.to_thread(send_now, settings, message)


# ---- new episodes -------------------------------------------------------------------------------


def episode_mail(
    settings: Settings, episode: dict[str, Any], subscriber: dict[str, Any], base_url: str, unsubscribe_token: str
) -> EmailMessage:
    page = f"{base_url}/episodes/{episode['id']}"
    unsubscribe = f"{base_url}/unsubscribe?token={unsubscribe_token}"
    text = (
        f"A new episode of {episode['show_title']} is out:\n\n"
        f"{episode['title']}\n{episode.get('description') or ''}\n\n"
        f"Listen: {page}\n\n"
        f"You get this mail because you subscribed to {episode['show_title']}.\n"
        f"Unsubscribe: {unsubscribe}\n"
    )
    return build_message(
        settings, subscriber["email"], f"New episode: {episode['title']}", text, unsubscribe_url=unsubscribe
    )


def public_base(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


async def confirmed_subscribers(conn: AsyncConnection, episode_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    cur = await conn.execute(Q.episode_for_mail, {"id": episode_id})
    episode = await cur.fetchone()
    if episode is None:
        raise PermanentError(f"no episode {episode_id}")
    cur = await conn.execute(Q.confirmed_subscribers, {"show_id": episode["show_id"]})
    return dict(episode), [dict(r) for r in await cur.fetchall()]


@tasks.task("mail.notify_episode", agent="mail")
async def notify_episode(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Mail a published episode to its show's confirmed subscribers, each exactly once."""
    from aether.podcasts.subscribers import unsubscribe_token

    episode_id = payload.get("episode_id")
    if not isinstance(episode_id, str):
        raise PermanentError("payload.episode_id must be the episode's id")
    async with ctx.db.connection() as conn:
        episode, subscribers = await confirmed_subscribers(conn, episode_id)
        tokens = {s["id"]: await unsubscribe_token(conn, s["id"], s["email"]) for s in subscribers}
    base = public_base(ctx.settings)
    sent = 0
    for subscriber in subscribers:
        ctx.raise_if_cancelled()

        async def deliver(subscriber: dict[str, Any] = subscriber) -> dict[str, Any]:
            message = episode_mail(ctx.settings, episode, subscriber, base, tokens[subscriber["id"]])
            message_id = await send(ctx.settings, message, ctx.db)
            return {"message_id": message_id, "to": subscriber["email"]}

        await ctx.once(f"mail:episode:{episode_id}:subscriber:{subscriber['id']}", deliver)
        sent += 1
    return {"episode_id": episode_id, "mailed": sent}
