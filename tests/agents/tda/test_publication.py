"""aether.agents.tda.publication: sources are credited by their publication, never by an address."""

from __future__ import annotations

import pytest

from aether.agents.tda.publication import domain_name, publication_name, site_name


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://www.Example.org/news/1", "example.org"),
        ("https://news.bbc.co.uk/a", "bbc.co.uk"),
        ("http://blog.example.co.uk:8080/a?b=c", "example.co.uk"),
        ("http://127.0.0.1:8000/feed.xml", None),
        ("http://[::1]/feed.xml", None),
        ("http://localhost:9000/feed.xml", None),
        ("not a url", None),
        (None, None),
    ],
)
def test_domain_name(url: str | None, name: str | None) -> None:
    assert domain_name(url) == name


def test_the_feed_title_then_the_site_name_then_the_domain() -> None:
    assert publication_name("Harbor City Herald", "Herald Online", "https://herald.example/a") == "Harbor City Herald"
    assert publication_name(None, "Herald Online", "https://herald.example/a") == "Herald Online"
    assert publication_name("  ", None, "https://www.herald.example/a") == "herald.example"
    assert publication_name(None, None, "http://10.0.0.7:8080/a") is None


def test_site_name_from_open_graph() -> None:
    page = b'<html><head><meta property="og:site_name" content="Coastal &amp; Wire"></head><body></body></html>'
    assert site_name(page) == "Coastal & Wire"
    reversed_order = b"<meta content='Bay Observer' name='og:site_name'>"
    assert site_name(reversed_order) == "Bay Observer"
    assert site_name(b"<html><title>No name</title></html>") is None
