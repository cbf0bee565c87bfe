"""Polite HTTP fetching for TDA: time-outs, a body size limit, redirects, gzip, conditional GET.

Every failure becomes a `FetchResult` with status "error" and a one-line reason; nothing raises, so
one broken source never stops the others. Requests to one host go one at a time, at least
`host_interval` seconds apart (counted from the start of the previous request).

The bundled samples (the feed and articles in `aether/samples`, the demo show's source) live at
`https://samples.aether.invalid/...` (a reserved name that no DNS answers): the Fetcher reads them from
the package's files, so the demo needs no network, no port of its own and no private address.

Unless AETHER_FETCH_ALLOW_PRIVATE=true, every connection goes through `aether.providers.netguard`: a
host that is or resolves to a loopback, private, link-local, multicast or reserved address is refused, on
every redirect hop, with the address actually connected to checked (the resolved address is pinned). A
refusal is an "error" result whose reason says so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import formatdate
from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx

from aether.config import Settings
from aether.errors import UnsafeAddress
from aether.providers.netguard import Guard, GuardedTransport

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.9, "
    "text/xml;q=0.9, */*;q=0.5"
)
ARTICLE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
MAX_REDIRECTS = 5
SAMPLES_HOST = "samples.aether.invalid"
SAMPLES_URL = f"https://{SAMPLES_HOST}"
SAMPLES_FEED = f"{SAMPLES_URL}/feed.xml"

FetchStatus = Literal["ok", "not_modified", "error"]


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    status: FetchStatus
    http_status: int | None = None
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    permanent_redirect: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class HostThrottle:
    """One request at a time per host, starts at least `interval` seconds apart.

    `clock` (seconds, monotonic) and `sleep` are the real ones unless a caller hands in its own, so the
    schedule of starts can be checked without measuring wall-clock gaps.
    """

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}
        self._last_start: dict[str, float] = {}

    def lock(self, host: str) -> asyncio.Lock:
        return self._locks.setdefault(host, asyncio.Lock())

    async def wait_turn(self, host: str) -> None:
        """Call with `lock(host)` held: sleeps until the host's interval has passed, then marks a start."""
        last = self._last_start.get(host)
        if last is not None:
            delay = last + self.interval - self.clock()
            if delay > 0:
                await self.sleep(delay)
        self._last_start[host] = self.clock()


class Fetcher:
    """An httpx client with TDA's limits; use as `async with Fetcher(settings) as fetcher:`."""

    def __init__(
        self,
        settings: Settings,
        *,
        timeout: float | None = None,
        max_bytes: int | None = None,
        host_interval: float | None = None,
        guard: Guard | None = None,
        throttle: HostThrottle | None = None,
    ) -> None:
        """`guard` checks every connection; by default one is used unless AETHER_FETCH_ALLOW_PRIVATE=true."""
        self.timeout = timeout if timeout is not None else settings.tda_fetch_timeout
        self.max_bytes = max_bytes if max_bytes is not None else settings.tda_max_bytes
        interval = host_interval if host_interval is not None else settings.tda_host_interval
        self.throttle = throttle or HostThrottle(interval)
        self.semaphore = asyncio.Semaphore(settings.tda_concurrency)
        if guard is None and not settings.fetch_allow_private:
            guard = Guard()
        self.client = httpx.AsyncClient(
            transport=GuardedTransport(guard) if guard is not None else None,
            follow_redirects=False,
            timeout=httpx.Timeout(self.timeout),
            headers={"User-Agent": settings.tda_user_agent},
            trust_env=False,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if (urlsplit(url).hostname or "").lower() == SAMPLES_HOST:
            return sample(url)
        current = url
        permanent = True
        for _hop in range(MAX_REDIRECTS + 1):
            scheme = urlsplit(current).scheme.lower()
            host = (urlsplit(current).hostname or "").lower()
            if scheme not in ("http", "https") or not host:
                return self._error(url, current, f"unsupported URL {current!r} (only http and https)")
            async with self.throttle.lock(host):
                await self.throttle.wait_turn(host)
                async with self.semaphore:
                    outcome = await self._one_request(url, current, headers, permanent)
            if isinstance(outcome, FetchResult):
                return outcome
            next_url, is_permanent = outcome
            permanent = permanent and is_permanent
            current = next_url
        return self._error(url, current, f"too many redirects (more than {MAX_REDIRECTS})")

    async def _one_request(
        self, url: str, current: str, headers: dict[str, str], permanent: bool
    ) -> FetchResult | tuple[str, bool]:
        """One hop: a FetchResult, or (next URL, redirect is permanent) for a redirect."""
        try:
            async with asyncio.timeout(self.timeout):
                request = self.client.build_request("GET", current, headers=headers)
                response = await self.client.send(request, stream=True)
                try:
                    return await self._read(url, current, response, permanent)
                finally:
                    await response.aclose()
        except UnsafeAddress as exc:
            return self._error(url, current, f"refused: {exc}")
        except TimeoutError:
            return self._error(url, current, f"timed out after {self.timeout:g} s")
        except httpx.TimeoutException:
            return self._error(url, current, f"timed out after {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return self._error(url, current, f"request failed: {type(exc).__name__}: {exc}".rstrip(": "))
        except OSError as exc:
            return self._error(url, current, f"request failed: {exc}")

    async def _read(
        self, url: str, current: str, response: httpx.Response, permanent: bool
    ) -> FetchResult | tuple[str, bool]:
        code = response.status_code
        if response.is_redirect and "location" in response.headers:
            return urljoin(current, response.headers["location"]), code in (301, 308)

        def result(status: FetchStatus, *, error: str | None = None, body: bytes = b"") -> FetchResult:
            return FetchResult(
                url=url,
                final_url=current,
                status=status,
                http_status=code,
                body=body,
                content_type=response.headers.get("content-type", ""),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                error=error,
                permanent_redirect=permanent and current != url,
            )

        if code == 304:
            return result("not_modified")
        if not 200 <= code < 300:
            return result("error", error=f"HTTP {code} {response.reason_phrase or 'error'}".strip())
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return result("error", error=f"response too large: {declared} bytes declared, limit {self.max_bytes}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > self.max_bytes:
                return result("error", error=f"response too large: more than {self.max_bytes} bytes (download aborted)")
        return result("ok", body=bytes(body))

    @staticmethod
    def _error(url: str, current: str, reason: str) -> FetchResult:
        return FetchResult(url=url, final_url=current, status="error", error=reason)


def samples_dir() -> Path:
    """The sample feed and articles shipped in the package (aether/samples)."""
    return Path(str(resources.files("aether").joinpath("samples")))


def sample(url: str) -> FetchResult:
    """A bundled sample, as if served: `{{BASE}}` becomes the samples' URL and `{{DATE}}` now."""
    root = samples_dir().resolve()
    target = (root / urlsplit(url).path.lstrip("/")).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return FetchResult(url=url, final_url=url, status="error", http_status=404, error="HTTP 404 (no such sample)")
    body = target.read_bytes().replace(b"{{BASE}}", SAMPLES_URL.encode())
    body = body.replace(b"{{DATE}}", formatdate(usegmt=True).encode())
    kind = "application/rss+xml" if target.suffix == ".xml" else "text/html; charset=utf-8"
    return FetchResult(url=url, final_url=url, status="ok", http_status=200, body=body, content_type=kind)
