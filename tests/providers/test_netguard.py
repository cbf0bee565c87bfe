"""The address guard: every spelling of a non-public address is refused, public ones pass, a host that does
not resolve is accepted at validation, and the allow flag turns the check off."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from aether.errors import ValidationFailed
from aether.providers import netguard
from aether.providers.netguard import IPAddress

REFUSED = {
    "127.0.0.1": "loopback",
    "0x7f000001": "loopback",
    "2130706433": "loopback",
    "127.1": "loopback",
    "0177.0.0.1": "loopback",
    "[::1]": "loopback",
    "[::ffff:127.0.0.1]": "loopback",
    "[::ffff:7f00:1]": "loopback",
    "[2002:7f00:1::]": "loopback",
    "[64:ff9b::7f00:1]": "loopback",
    "169.254.169.254": "link-local",
    "[fe80::1]": "link-local",
    "10.1.2.3": "private",
    "172.16.0.9": "private",
    "192.168.1.1": "private",
    "[fc00::5]": "private",
    "[fec0::1]": "site-local",
    "224.0.0.251": "multicast",
    "[ff02::1]": "multicast",
    "0.0.0.0": "unspecified",
    "[::]": "unspecified",
    "240.0.0.1": "reserved",
    "100.64.0.1": "non-public",
}
PUBLIC = ("93.184.216.34", "8.8.8.8", "[2606:4700:4700::1111]", "[::ffff:8.8.8.8]", "0x5db8d822")


@pytest.mark.parametrize(("host", "kind"), sorted(REFUSED.items()))
def test_every_spelling_of_a_non_public_address_is_refused(host: str, kind: str) -> None:
    address = netguard.literal(host)
    assert address is not None, host
    assert netguard.refusal(address) == f"a{'n' if kind[0] in 'aeiou' else ''} {kind} address"


@pytest.mark.parametrize("host", PUBLIC)
def test_public_addresses_pass(host: str) -> None:
    address = netguard.literal(host)
    assert address is not None and netguard.refusal(address) is None


def test_names_are_not_literals() -> None:
    for host in ("example.org", "cafe", "deadbeef.example", "0xcafe.com", "samples.aether.invalid"):
        assert netguard.literal(host) is None, host


@pytest.mark.parametrize("host", sorted(REFUSED))
async def test_validation_names_the_field_for_each_spelling(host: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await netguard.check_urls(
            ["https://example.org/feed.xml", f"http://{host}:8080/feed.xml"], field="sources", allow_private=False
        )
    assert caught.value.field == "sources[1]"
    assert caught.value.message.startswith("sources[1]: ")
    assert REFUSED[host] in caught.value.message and "AETHER_FETCH_ALLOW_PRIVATE" in caught.value.message


async def test_validation_checks_what_a_name_resolves_to() -> None:
    answers: dict[str, list[IPAddress]] = {
        "feeds.example.org": [ipaddress.ip_address("93.184.216.34")],
        "internal.example.org": [ipaddress.ip_address("93.184.216.35"), ipaddress.ip_address("10.0.0.7")],
    }
    asked: list[tuple[str, int]] = []

    async def resolver(host: str, port: int) -> list[IPAddress]:
        asked.append((host, port))
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    await netguard.check_url("https://feeds.example.org/rss", field="url", allow_private=False, resolver=resolver)
    with pytest.raises(ValidationFailed) as caught:
        await netguard.check_url(
            "http://internal.example.org:8081/x", field="url", allow_private=False, resolver=resolver
        )
    assert caught.value.message.startswith("url: internal.example.org resolves to 10.0.0.7, a private address")
    # DNS may be down at validation: a name that does not resolve is accepted (each fetch checks again)
    await netguard.check_url("http://nowhere.example/feed", field="url", allow_private=False, resolver=resolver)
    assert asked == [("feeds.example.org", 443), ("internal.example.org", 8081), ("nowhere.example", 80)]


async def test_the_samples_host_and_unresolvable_names_pass() -> None:
    await netguard.check_urls(
        ["https://samples.aether.invalid/feed.xml", "https://feeds.no-such-host.example/feed.xml"],
        field="sources",
        allow_private=False,
    )

    async def answers_everything(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("10.0.0.1")]  # a resolver that answers even for names that do not exist

    await netguard.check_url(
        "https://samples.aether.invalid/feed.xml", field="url", allow_private=False, resolver=answers_everything
    )


async def test_localhost_is_refused_through_the_real_resolver() -> None:
    with pytest.raises(ValidationFailed, match=r"^sources\[0\]: localhost resolves to .*a loopback address"):
        await netguard.check_urls(["http://localhost:9/feed.xml"], field="sources", allow_private=False)


async def test_the_allow_flag_turns_the_check_off() -> None:
    await netguard.check_urls(
        ["http://127.0.0.1:9/feed.xml", "http://169.254.169.254/latest/meta-data/", "http://[::1]/"],
        field="sources",
        allow_private=True,
    )
