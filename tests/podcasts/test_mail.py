"""aether.podcasts.mail: SMTP URLs."""

from __future__ import annotations

import pytest

from aether.errors import ConfigError
from aether.podcasts import mail


def test_parse_smtp_url() -> None:
    target = mail.parse_smtp_url("smtp://bob:p%40ss@mail.example.org:587?starttls=require")
    assert (target.host, target.port, target.username, target.password, target.starttls) == (
        "mail.example.org",
        587,
        "bob",
        "p@ss",
        "require",
    )
    assert mail.parse_smtp_url("smtps://mail.example.org").port == 465
    for bad in ("http://x", "smtp://", "smtp://h:99999", "smtp://h?starttls=maybe"):
        with pytest.raises(ConfigError):
            mail.parse_smtp_url(bad)
