"""Fetching is guarded: with default settings a loopback source is refused before any request reaches it,
a redirect from an allowed host to a refused one stops at the hop, the address connected to is the one
checked (a DNS answer that changes after validation is caught), and a refusal is a source failure with a
reason, never an exception."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from aether.agents.tda.fetch import SAMPLES_FEED, Fetcher
from aether.config import Settings, load_settings
from aether.providers import netguard
from aether.providers.netguard import Guard, IPAddress
from tests.agents.feed_server import FeedServer

FIRST = ipaddress.ip_address("127.0.0.1")


@pytest.fixture
def guarded(tmp_path: Path) -> Settings:
    """Default settings: AETHER_FETCH_ALLOW_PRIVATE is off."""
    settings = load_settings(home=tmp_path / "home")
    assert settings.fetch_allow_private is False
    return settings


def only_first(ip: IPAddress) -> str | None:
    """A policy that lets the test reach the first server (127.0.0.1) and refuses everything else as usual."""
    return None if ip == FIRST else netguard.refusal(ip)


async def test_a_loopback_source_is_refused_before_any_request(guarded: Settings, feed_server: FeedServer) -> None:
    async with Fetcher(guarded, host_interval=0) as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss2.xml"))
        spelled = await fetcher.fetch(feed_server.url("/rss2.xml").replace("127.0.0.1", "0x7f000001"))
        sample = await fetcher.fetch(SAMPLES_FEED)
    assert result.status == "error" and result.error is not None
    assert result.error.startswith("refused: 127.0.0.1 is a loopback address"), result.error
    assert "AETHER_FETCH_ALLOW_PRIVATE" in result.error
    assert spelled.status == "error" and spelled.error is not None
    assert spelled.error.startswith("refused: 0x7f000001 is 127.0.0.1, a loopback address"), spelled.error
    assert feed_server.requests == []  # nothing reached the server
    assert sample.ok and b"<rss" in sample.body  # the bundled samples need no address at all


async def test_the_allow_flag_lets_loopback_through(guarded: Settings, feed_server: FeedServer) -> None:
    allowed = guarded.model_copy(update={"fetch_allow_private": True})
    async with Fetcher(allowed, host_interval=0) as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss2.xml"))
    assert result.ok and len(feed_server.hits("/rss2.xml")) == 1


async def test_a_redirect_to_a_refused_address_stops_at_that_hop(
    guarded: Settings, feed_server: FeedServer, other_feed_server: FeedServer
) -> None:
    target = other_feed_server.url("/rss2.xml")
    feed_server.redirects["/go.xml"] = target
    async with Fetcher(guarded, host_interval=0, guard=Guard(policy=only_first)) as fetcher:
        direct = await fetcher.fetch(feed_server.url("/rss2.xml"))
        result = await fetcher.fetch(feed_server.url("/go.xml"))
    assert direct.ok  # the first server is allowed by this test's policy
    assert result.status == "error" and result.error is not None
    assert result.error.startswith("refused: 127.0.0.2 is a loopback address"), result.error
    assert result.final_url == target
    assert len(feed_server.hits("/go.xml")) == 1
    assert other_feed_server.requests == []  # the redirect's target never saw a request


async def test_the_address_connected_to_is_the_one_checked(guarded: Settings, feed_server: FeedServer) -> None:
    """A name that resolved to a public address at validation and to loopback at fetch time is refused;
    when the policy allows the address, the connection goes to exactly the address that was checked."""
    public = [ipaddress.ip_address("93.184.216.34")]
    answers = {"feeds.example.org": public}

    async def at_validation(host: str, port: int) -> list[IPAddress]:
        return answers[host]

    url = f"http://feeds.example.org:{feed_server.server.server_address[1]}/rss2.xml"
    await netguard.check_url(url, field="sources[0]", allow_private=False, resolver=at_validation)

    async def at_fetch(host: str, port: int) -> list[IPAddress]:
        return [FIRST]  # the DNS answer changed: now it points at this machine

    async with Fetcher(guarded, host_interval=0, guard=Guard(resolver=at_fetch)) as fetcher:
        refused = await fetcher.fetch(url)
    assert refused.status == "error" and refused.error is not None
    assert refused.error.startswith("refused: feeds.example.org resolves to 127.0.0.1, a loopback address")
    assert feed_server.requests == []

    async with Fetcher(guarded, host_interval=0, guard=Guard(resolver=at_fetch, policy=only_first)) as fetcher:
        pinned = await fetcher.fetch(url)
    assert pinned.ok and b"<rss" in pinned.body
    (hit,) = feed_server.hits("/rss2.xml")
    assert hit.headers["host"] == f"feeds.example.org:{feed_server.server.server_address[1]}"
