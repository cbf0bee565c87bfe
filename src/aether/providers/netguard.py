"""Which addresses Aether fetches from on a user's behalf: the guard against server-side request forgery.

A URL a user gives (a show's source, a URL sent with an episode, an article link inside a feed) may name
a host that is, or resolves to, an address inside the machine or its network: loopback (`127.0.0.1`,
`[::1]`, also spelled `0x7f000001` or `2130706433`), private (`10.0.0.0/8`, `192.168.0.0/16`,
`fc00::/7`), link-local (`169.254.169.254`, the cloud metadata service), multicast, reserved or
unspecified, also inside IPv6 (`[::ffff:127.0.0.1]`, 6to4, NAT64). `refusal` says why such an address is
refused; a public one gets None. The check is made twice:

* at validation (`check_url`, `check_urls`): ValidationFailed naming the field (`sources[0]`). A host
  that does not resolve now is accepted: DNS may be down, and every fetch checks again. A `.invalid`
  name is never looked up: no DNS answers one (RFC 2606), and the bundled samples' host,
  `samples.aether.invalid`, is served from the package's files.
* at each connection (`GuardedTransport` for httpx): the host is resolved, every address it resolves to
  is checked, and the connection goes to a checked address (pinned, so a DNS answer that changes after
  the check cannot slip through). A redirect opens a new connection, so every hop is checked. A refusal
  raises UnsafeAddress.

`AETHER_FETCH_ALLOW_PRIVATE=true` turns both off: callers pass `allow_private`, or no guard.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from urllib.parse import urlsplit

import httpcore
import httpx

from aether.errors import UnsafeAddress, ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
Policy = Callable[[IPAddress], str | None]
SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]  # httpcore's

VALIDATION_RESOLVE_S = 5.0  # a validation waits this long for DNS, then accepts the host
ALLOW_HINT = "Aether fetches only from public addresses (AETHER_FETCH_ALLOW_PRIVATE=true allows private ones)"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_SPELLING = re.compile(r"^[0-9a-fA-FxX.]+$")  # decimal, octal, hex and short forms (inet_aton)


def refusal(ip: IPAddress) -> str | None:
    """Why Aether must not fetch from `ip` ("a loopback address", ...), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded)
        if ip.is_site_local:
            return "a site-local address"
    kinds = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private address"),
        (not ip.is_global, "a non-public address"),
    )
    return next((why for hit, why in kinds if hit), None)


def literal(host: str) -> IPAddress | None:
    """The address a host names by itself (`[::1]`, `127.0.0.1`, `0x7f000001`, `2130706433`, `127.1`), or None."""
    bare = host.strip().strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if _IPV4_SPELLING.match(bare):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` names or resolves to (getaddrinfo); raises OSError when it does not resolve."""
    named = literal(host)
    if named is not None:
        return [named]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: dict[IPAddress, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        found[ipaddress.ip_address(str(sockaddr[0]).split("%")[0])] = None
    return list(found)


def _default_port(url: str) -> int:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return port or (443 if parts.scheme.lower() == "https" else 80)


def _said(host: str, ip: IPAddress, resolved: bool) -> str:
    if host == str(ip):
        return f"{host} is"
    return f"{host} {'resolves to' if resolved else 'is'} {ip},"


async def check_url(
    url: str, *, field: str, allow_private: bool, resolver: Resolver = resolve, policy: Policy = refusal
) -> None:
    """ValidationFailed naming `field` when the URL's host is or resolves to an address Aether must not
    fetch from; a host that does not resolve (within VALIDATION_RESOLVE_S) is accepted."""
    if allow_private:
        return
    host = urlsplit(url).hostname
    if not host or host.endswith(".invalid"):
        return  # no host, or a name no DNS answers (RFC 2606), such as the bundled samples' host
    named = literal(host)
    if named is not None:
        addresses = [named]
    else:
        try:
            async with asyncio.timeout(VALIDATION_RESOLVE_S):
                addresses = await resolver(host, _default_port(url))
        except (OSError, TimeoutError):
            return  # unresolvable now: every fetch resolves and checks again
    for ip in addresses:
        why = policy(ip)
        if why is not None:
            raise ValidationFailed(f"{field}: {_said(host, ip, named is None)} {why}; {ALLOW_HINT}", field=field)


async def check_urls(
    urls: Iterable[str] | None,
    *,
    field: str,
    allow_private: bool,
    resolver: Resolver = resolve,
    policy: Policy = refusal,
) -> None:
    """`check_url` for each URL (resolved concurrently); the field of the first refused one is `field[i]`."""
    if allow_private or not urls:
        return
    checks = [
        check_url(u, field=f"{field}[{i}]", allow_private=False, resolver=resolver, policy=policy)
        for i, u in enumerate(urls)
    ]
    outcomes = await asyncio.gather(*checks, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


class Guard:
    """The fetch-time check: resolves a host and returns its addresses, or raises UnsafeAddress."""

    def __init__(self, *, resolver: Resolver = resolve, policy: Policy = refusal) -> None:
        self.resolver = resolver
        self.policy = policy

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        try:
            found = await self.resolver(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from None
        if not found:
            raise httpcore.ConnectError(f"could not resolve {host}: no address")
        for ip in found:
            why = self.policy(ip)
            if why is not None:
                raise UnsafeAddress(f"{_said(host, ip, literal(host) is None)} {why}; {ALLOW_HINT}", field="url")
        return found


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend that connects only to addresses the guard checked (pinned: the name is
    resolved once, and the connection goes to one of those addresses)."""

    def __init__(self, guard: Guard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.guard = guard
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses: Sequence[IPAddress] = await self.guard.addresses(host, port)
        failure: Exception | None = None
        for ip in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeAddress(f"a unix socket ({path}) is not a public address; {ALLOW_HINT}", field="url")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with every connection made through GuardedBackend (no proxies, no environment)."""

    def __init__(self, guard: Guard) -> None:
        super().__init__(trust_env=False)
        limits = httpx.Limits()
        # httpx takes no network backend of its own: its pool is rebuilt with the guarded one
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard),
        )
