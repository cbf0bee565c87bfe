"""How the HTTP engines (LLM, speech) retry: one policy, used by a sync and an async request loop.

* Each request has a time-out; 408, 409, 425, 429, 5xx, time-outs and connection errors are retried with
  exponential back-off (`backoff_base` × 2^attempt), honouring `Retry-After` up to 30 s.
* Other 4xx fail at once with the server's message (`error.message` of an OpenAI-style error body).
* `send` / `asend` return the first response under 400, or raise `error(message)`:
  "<what> refused the request: HTTP 401: ..." or "<what> failed after N attempts: ...".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from aether.errors import ProviderError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    what: str  # e.g. "LLM API at http://..." (names the service in errors and logs)
    error: type[ProviderError]
    timeout: float
    max_retries: int = 3
    backoff_base: float = 0.5


@dataclass(frozen=True)
class _Failure:
    message: str
    retryable: bool
    retry_after: float | None = None


def _outcome(response: httpx.Response | None, exc: Exception | None, timeout: float) -> _Failure | None:
    """None when `response` is a success; else what went wrong and whether to try again."""
    if isinstance(exc, httpx.TimeoutException):
        return _Failure(f"timed out after {timeout:g} s", True)
    if isinstance(exc, httpx.TransportError):
        return _Failure(f"connection failed: {type(exc).__name__}", True)
    assert response is not None
    if response.status_code < 400:
        return None
    message = f"HTTP {response.status_code}: {error_message(response)}"
    return _Failure(message, response.status_code in RETRY_STATUSES, retry_after(response))


def _next(policy: RetryPolicy, attempt: int, failure: _Failure) -> float:
    """The delay before the next attempt, or raises the policy's error when there is none."""
    if not failure.retryable:
        raise policy.error(f"{policy.what} refused the request: {failure.message}")
    if attempt >= policy.max_retries:
        raise policy.error(f"{policy.what} failed after {attempt + 1} attempts: {failure.message}")
    delay = failure.retry_after if failure.retry_after is not None else policy.backoff_base * (2**attempt)
    log.warning("%s: request failed (%s); retry %d in %.2f s", policy.what, failure.message, attempt + 1, delay)
    return delay


def send(policy: RetryPolicy, request: Callable[[], httpx.Response]) -> httpx.Response:
    """Run `request` (one HTTP call) until it succeeds, under `policy` (blocking: for worker threads)."""
    attempt = 0
    while True:
        try:
            response: httpx.Response | None = request()
            failure = _outcome(response, None, policy.timeout)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            response, failure = None, _outcome(None, exc, policy.timeout)
        if failure is None:
            assert response is not None
            return response
        time.sleep(_next(policy, attempt, failure))
        attempt += 1


async def asend(policy: RetryPolicy, request: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    """`send` for an async client."""
    attempt = 0
    while True:
        try:
            response: httpx.Response | None = await request()
            failure = _outcome(response, None, policy.timeout)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            response, failure = None, _outcome(None, exc, policy.timeout)
        if failure is None:
            assert response is not None
            return response
        await asyncio.sleep(_next(policy, attempt, failure))
        attempt += 1


def error_message(response: httpx.Response) -> str:
    """The server's own words: an OpenAI-style `{"error": {"message"}}`, else the body or the reason."""
    try:
        data = response.json()
    except ValueError:
        return (response.text or response.reason_phrase or "error").strip()[:300]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:300]
    if isinstance(error, str):
        return error[:300]
    detail = data.get("detail") if isinstance(data, dict) else None  # FastAPI servers (Kokoro-FastAPI)
    if isinstance(detail, str):
        return detail[:300]
    return (response.reason_phrase or "error")[:300]


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        return None
