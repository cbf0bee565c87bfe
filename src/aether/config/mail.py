"""Mail: the SMTP server and sender of every mail (unset = mails are only logged)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from aether.config.base import Section


class MailSettings(Section):
    heading = "Mail"

    smtp_url: SecretStr | None = Field(
        None,
        description="SMTP server for mails: smtp://user:pass@host:587 (STARTTLS when offered), smtps://host:465; "
        "unset = mails are written to the log only.",
    )
    smtp_from: str = Field("Aether <aether@localhost>", description="From address of every mail.")
