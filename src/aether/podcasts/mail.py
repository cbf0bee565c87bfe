"""Mail through SMTP (AETHER_SMTP_URL): `build_message` and `send`.

`smtp://user:pass@host:587` uses STARTTLS when the server offers it, `smtps://host:465` implicit TLS;
without AETHER_SMTP_URL mails are written to the log. An SMTP password kept in the credentials store is
used when `send` is given the database.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from aether.config import Settings
from aether.db import AsyncConnection, Database
from aether.errors import ConfigError, MailError
from aether.security.credentials import with_stored_secrets

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 30.0


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


# Lines up to RFC 5322's limit: with the default 78, a header that is one long word (the List-Unsubscribe URL)
# is written as RFC 2047 encoded words, which mail clients do not parse as a URL (RFC 8058 wants it raw).
MESSAGE_POLICY = email.policy.default.clone(max_line_length=998)


def build_message(
    settings: Settings,
    to: str,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    msg = EmailMessage(policy=MESSAGE_POLICY)
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


async def send(settings: Settings, message: EmailMessage, db: Database | AsyncConnection | None = None) -> str:
    """Send off the event loop; with `db`, an SMTP password kept in the credentials store is used."""
    if db is not None:
        settings = await with_stored_secrets(db, settings)
    return await asyncio.to_thread(send_now, settings, message)
