"""Idempotency records (`idempotency_keys`): HTTP replays and the task side-effect guard.

Both share one record per (idempotency key, scope): the scope is the workflow id (`X-Workflow-ID` for
HTTP, the task's workflow for side effects) or "" when there is none.

HTTP (the IETF Idempotency-Key draft): the caller is authenticated first (an anonymous request gets 401, not
an answer about the key) and keys are scoped to the caller (`user:<id>`, then the X-Workflow-ID), so two
users never share a key. `begin` claims a key before a mutating request runs and answers
one of NEW (run it), REPLAY (send the stored status and body), IN_FLIGHT (409: the first request is still
running) or MISMATCH (422: the key was used with another request). `complete` stores the response,
`release` forgets a request that failed so it can be sent again. `IdempotentRoute` does all of it for a
FastAPI router. Records expire after AETHER_IDEMPOTENCY_TTL_HOURS; `prune_expired` deletes them.

Tasks: `run_once(ctx, name, fn)` runs the side effect `fn` at most once per (name, workflow) and replays
its recorded result to any later attempt, which makes effects exactly-once under at-least-once tasks.
An in-flight claim holds a lock that its holder renews while it runs; a crashed holder's lock runs out
after AETHER_IDEMPOTENCY_LOCK_SECONDS and the next attempt takes the key over.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb

from aether.db.pool import AsyncConnection, Connection, Database
from aether.db.queries import load_queries
from aether.errors import IdempotencyBusy, ValidationFailed

if TYPE_CHECKING:
    from fastapi import Request, Response

    from aether.queue.tasks import TaskContext

Q = load_queries(__file__, "idempotency.sql")
log = logging.getLogger(__name__)

MAX_KEY = 255
MAX_SCOPE = 255
MAX_TASK_NAME = 200
_CLAIM_TRIES = 5


class Outcome(StrEnum):
    NEW = "new"  # this caller holds the key: do the work, then complete (or release/fail)
    REPLAY = "replay"  # done before: use the stored result
    IN_FLIGHT = "in_flight"  # another caller holds the key right now
    MISMATCH = "mismatch"  # the key was used for a different request


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    key: str
    scope: str
    token: str | None = None  # the holder's token (NEW only)
    response_status: int | None = None
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    locked_until: datetime | None = None


def check_key(key: object, field: str = "Idempotency-Key") -> str:
    """A key of 1 to 255 visible ASCII characters (a UUID is recommended)."""
    if not isinstance(key, str) or not key:
        raise ValidationFailed(f"{field} must be a non-empty string", field=field)
    if len(key) > MAX_KEY:
        raise ValidationFailed(f"{field} must be at most {MAX_KEY} characters (got {len(key)})", field=field)
    if any(not 0x21 <= ord(c) <= 0x7E for c in key):
        raise ValidationFailed(f"{field} may hold only visible ASCII characters (no spaces)", field=field)
    return key


def check_scope(scope: object, field: str = "X-Workflow-ID") -> str:
    if scope is None:
        return ""
    if not isinstance(scope, str):
        raise ValidationFailed(f"{field} must be a string", field=field)
    if len(scope) > MAX_SCOPE:
        raise ValidationFailed(f"{field} must be at most {MAX_SCOPE} characters", field=field)
    if any(not 0x20 <= ord(c) <= 0x7E for c in scope):
        raise ValidationFailed(f"{field} may hold only printable ASCII characters", field=field)
    return scope


def fingerprint(*parts: bytes | str) -> str:
    """sha256 over length-prefixed parts: different requests never share a fingerprint by concatenation."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def canonical_body(body: bytes, content_type: str | None) -> bytes:
    """JSON bodies compared by value (key order and spacing do not matter); anything else byte for byte."""
    if body and content_type and "json" in content_type.lower():
        try:
            return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
        except ValueError:
            return body
    return body


def _claim_from_row(row: Mapping[str, Any], token: str, fingerprint_: str | None) -> Claim:
    key, scope = row["idempotency_key"], row["workflow_id"]
    if row["claimed"]:
        return Claim(Outcome.NEW, key, scope, token=token, locked_until=row["locked_until"])
    if (
        fingerprint_ is not None
        and row["request_fingerprint"] is not None
        and row["request_fingerprint"] != fingerprint_
    ):
        return Claim(Outcome.MISMATCH, key, scope)
    if row["status"] == "completed":
        return Claim(
            Outcome.REPLAY,
            key,
            scope,
            response_status=row["response_status"],
            payload=row["result_payload"],
            headers=dict(row["response_headers"] or {}),
        )
    return Claim(Outcome.IN_FLIGHT, key, scope, locked_until=row["locked_until"])


async def begin(
    conn: AsyncConnection,
    key: str,
    *,
    workflow_id: str | None = None,
    task_name: str,
    fingerprint: str | None = None,
    ttl_s: float,
    lock_s: float,
) -> Claim:
    """Claim `key` in scope `workflow_id`, committed at once so other callers see the claim."""
    key = check_key(key)
    scope = check_scope(workflow_id)
    token = str(uuid.uuid4())
    params = {
        "key": key,
        "scope": scope,
        "task_name": task_name[:MAX_TASK_NAME],
        "fingerprint": fingerprint,
        "lock_s": lock_s,
        "ttl_s": ttl_s,
        "token": token,
    }
    for _ in range(_CLAIM_TRIES):
        async with conn.transaction():
            cur = await conn.execute(Q.claim_key, params)
            row = await cur.fetchone()
        if row is not None:
            return _claim_from_row(row, token, fingerprint)
        # the record was written by a transaction that committed after this statement's snapshot
    raise RuntimeError(f"could not claim idempotency key {key!r}: concurrent writers kept racing")


async def complete(
    conn: AsyncConnection,
    claim: Claim,
    *,
    payload: Any,
    response_status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> bool:
    """Store the outcome under the claim; False when another holder had already completed the key."""
    async with conn.transaction():
        cur = await conn.execute(
            Q.complete_key,
            {
                "key": claim.key,
                "scope": claim.scope,
                "token": claim.token,
                "status": response_status,
                "payload": Jsonb(payload),
                "headers": Jsonb(dict(headers)) if headers else None,
            },
        )
        return await cur.fetchone() is not None


async def fail(conn: AsyncConnection, claim: Claim, error: str) -> None:
    """Mark the claim failed (kept for inspection); the next attempt may claim the key again."""
    async with conn.transaction():
        await conn.execute(
            Q.fail_key,
            {"key": claim.key, "scope": claim.scope, "token": claim.token, "payload": Jsonb({"error": error[:4000]})},
        )


async def release(conn: AsyncConnection, claim: Claim) -> None:
    """Forget an in-flight claim whose request did not complete, so the client may send it again."""
    async with conn.transaction():
        await conn.execute(Q.release_key, {"key": claim.key, "scope": claim.scope, "token": claim.token})


async def renew(conn: AsyncConnection, claim: Claim, lock_s: float) -> bool:
    async with conn.transaction():
        cur = await conn.execute(
            Q.renew_key, {"key": claim.key, "scope": claim.scope, "token": claim.token, "lock_s": lock_s}
        )
        return await cur.fetchone() is not None


async def lookup(conn: AsyncConnection, key: str, workflow_id: str | None = None) -> dict[str, Any] | None:
    cur = await conn.execute(Q.get_key, {"key": key, "scope": workflow_id or ""})
    row = await cur.fetchone()
    return dict(row) if row is not None else None


async def prune_expired(conn: AsyncConnection, *, batch: int = 5000) -> int:
    """Delete every expired record (in batches); returns how many went."""
    total = 0
    while True:
        async with conn.transaction():
            cur = await conn.execute(Q.prune_keys, {"batch": batch})
            total += cur.rowcount
        if cur.rowcount < batch:
            return total


def prune_expired_sync(conn: Connection, *, batch: int = 5000) -> int:
    """`prune_expired` for synchronous callers (maintenance jobs, CLI)."""
    total = 0
    while True:
        with conn.transaction():
            count = conn.execute(Q.prune_keys, {"batch": batch}).rowcount
        total += count
        if count < batch:
            return total


@contextlib.asynccontextmanager
async def _holding(db: Database, claim: Claim, lock_s: float) -> AsyncIterator[None]:
    """Renew the claim's lock every third of its length while the body runs."""

    async def keep() -> None:
        while True:
            await asyncio.sleep(lock_s / 3)
            try:
                async with db.connection() as conn:
                    if not await renew(conn, claim, lock_s):
                        log.warning("idempotency key %r: the claim was taken over", claim.key)
                        return
            except Exception:
                log.exception("idempotency key %r: renewing the claim failed", claim.key)

    task = asyncio.create_task(keep())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ---- tasks: the side-effect guard ---------------------------------------------------------------


async def run_once(
    ctx: TaskContext,
    name: str,
    fn: Callable[[], Awaitable[dict[str, Any]]],
    *,
    wait_s: float = 10.0,
) -> dict[str, Any]:
    """Run `fn` at most once for (name, workflow); a later attempt gets the recorded result back.

    The scope is the task's workflow, or `task:<id>` for a task outside any workflow. When another
    attempt is running the same effect right now, wait up to `wait_s` for it, then raise
    IdempotencyBusy (the queue retries the task later). When `fn` raises, the record is marked failed
    and the next attempt runs `fn` again.
    """
    if not isinstance(name, str) or not name:
        raise ValidationFailed("the side effect needs a name", field="name")
    scope = str(ctx.workflow_id) if ctx.workflow_id else f"task:{ctx.task_id}"
    settings = ctx.settings
    lock_s = settings.idempotency_lock_seconds
    ttl_s = settings.idempotency_task_ttl_hours * 3600
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    delay = 0.02
    while True:
        async with ctx.db.connection() as conn:
            claim = await begin(conn, name, workflow_id=scope, task_name=ctx.task_type, ttl_s=ttl_s, lock_s=lock_s)
        if claim.outcome is Outcome.REPLAY:
            log.info("side effect %r of %s already done: replaying its result", name, scope)
            result: dict[str, Any] = claim.payload if isinstance(claim.payload, dict) else {"value": claim.payload}
            return result
        if claim.outcome is Outcome.NEW:
            return await _run_claimed(ctx.db, claim, name, fn, lock_s)
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise IdempotencyBusy(
                f"side effect {name!r} of {scope} is being run by another attempt (claim held until "
                f"{claim.locked_until}); retry later"
            )
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.5)


async def _run_claimed(
    db: Database, claim: Claim, name: str, fn: Callable[[], Awaitable[dict[str, Any]]], lock_s: float
) -> dict[str, Any]:
    try:
        async with _holding(db, claim, lock_s):
            result = await fn()
        if not isinstance(result, dict):
            raise TypeError(f"side effect {name!r} must return a dict (got {type(result).__name__})")
        json.dumps(result)
    except BaseException as exc:
        with contextlib.suppress(Exception):
            async with db.connection() as conn:
                await fail(conn, claim, f"{type(exc).__name__}: {exc}")
        raise
    async with db.connection() as conn:
        if not await complete(conn, claim, payload=result):
            log.warning("side effect %r of %s ran twice: its claim was taken over", name, claim.scope)
    return result


# ---- HTTP: FastAPI ------------------------------------------------------------------------------

HEADER = "Idempotency-Key"
SEED_HEADER = "X-Idempotency-Key"
SCOPE_HEADER = "X-Workflow-ID"
REPLAYED_HEADER = "Idempotent-Replayed"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STORED_HEADERS = ("content-type", "location", "etag", "last-modified")


def _unquote(value: str) -> str:
    """The draft sends the key as a structured-field string ("..."); a bare token is accepted too."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The key of `Idempotency-Key` or `X-Idempotency-Key` (both given: they must agree)."""
    found = {name: _unquote(value) for name in (HEADER, SEED_HEADER) if (value := headers.get(name)) is not None}
    if not found:
        return None
    values = set(found.values())
    if len(values) > 1:
        raise ValidationFailed(f"{HEADER} and {SEED_HEADER} disagree; send one of them", field=HEADER)
    name, value = next(iter(found.items()))
    return check_key(value, name)


def _error(
    status: int, code: str, message: str, field: str | None, headers: Mapping[str, str] | None = None
) -> Response:
    from fastapi.responses import JSONResponse

    return JSONResponse(
        {"error": {"code": code, "message": message, "field": field}}, status_code=status, headers=dict(headers or {})
    )


def _stored(response: Response) -> tuple[dict[str, Any], dict[str, str]] | None:
    body = getattr(response, "body", None)
    if not isinstance(body, bytes | bytearray | memoryview):
        return None  # a streamed response cannot be stored
    raw = bytes(body)
    headers = {name: value for name in _STORED_HEADERS if (value := response.headers.get(name)) is not None}
    media = headers.get("content-type", "")
    if "json" in media.lower():
        try:
            return {"encoding": "json", "body": json.loads(raw) if raw else None}, headers
        except ValueError:
            pass
    return {"encoding": "base64", "body": base64.b64encode(raw).decode()}, headers


def _replay(claim: Claim) -> Response:
    from fastapi import Response as PlainResponse

    stored = claim.payload if isinstance(claim.payload, dict) else {}
    body = stored.get("body")
    raw = (
        base64.b64decode(body)
        if stored.get("encoding") == "base64" and isinstance(body, str)
        else (b"" if body is None else json.dumps(body, separators=(",", ":")).encode())
    )
    headers = {**claim.headers, REPLAYED_HEADER: "true"}
    media = headers.pop("content-type", None)
    return PlainResponse(raw, status_code=claim.response_status or 200, headers=headers, media_type=media)


Caller = Callable[["Request"], Awaitable[str]]


@dataclass(frozen=True)
class HttpPolicy:
    """How a router uses keys: `required` (400 without one), which methods, and who the caller is.

    `caller` authenticates the request before its key is looked at (raising Unauthorized for an anonymous
    one) and returns who it is (e.g. `user:7`): keys are then scoped to that caller, so two users may use
    the same key independently and nobody learns whether another's key exists. Without `caller`, the
    `caller_headers` go into the request's fingerprint (one client's key never replays another's
    response, though it answers 422 "already used")."""

    required: bool = True
    methods: frozenset[str] = MUTATING
    caller_headers: Sequence[str] = ("authorization", "cookie")
    caller: Caller | None = None


def caller_scope(caller: str, scope: str) -> str:
    """The record's scope for `caller` and the request's X-Workflow-ID `scope` (hashed when too long)."""
    combined = f"{caller}/{scope}" if scope else caller
    if len(combined) <= MAX_SCOPE:
        return combined
    return f"{caller}/sha256:{fingerprint(scope)}"[:MAX_SCOPE]


async def guard_request(
    request: Request,
    call: Callable[[], Coroutine[Any, Any, Response]],
    policy: HttpPolicy,
    db: Database,
) -> Response:
    """Run `call` under the request's idempotency key (see the module docstring for the rules)."""
    if request.method.upper() not in policy.methods:
        return await call()
    who = await policy.caller(request) if policy.caller is not None else None  # authentication comes first
    try:
        key = key_from_headers(request.headers)
        scope = check_scope(request.headers.get(SCOPE_HEADER))
    except ValidationFailed as exc:
        return _error(400, "bad_request", exc.message, exc.field)
    if key is None:
        if policy.required:
            return _error(
                400,
                "bad_request",
                f"this request needs an {HEADER} (or {SEED_HEADER}) header, e.g. a fresh UUID",
                HEADER,
            )
        return await call()
    body = await request.body()
    content_type = request.headers.get("content-type")
    caller = [request.headers.get(name, "") for name in policy.caller_headers] if who is None else []
    if who is not None:
        scope = caller_scope(who, scope)
    print_ = fingerprint(
        request.method.upper(), request.url.path, request.url.query, *caller, canonical_body(body, content_type)
    )
    settings = db.settings
    lock_s = settings.idempotency_lock_seconds
    async with db.connection() as conn:
        claim = await begin(
            conn,
            key,
            workflow_id=scope,
            task_name=f"{request.method.upper()} {request.url.path}",
            fingerprint=print_,
            ttl_s=settings.idempotency_ttl_hours * 3600,
            lock_s=lock_s,
        )
    if claim.outcome is Outcome.MISMATCH:
        return _error(
            422,
            "invalid",
            f"{HEADER} {key!r} was already used for a different request; use a new key for a new request",
            HEADER,
        )
    if claim.outcome is Outcome.IN_FLIGHT:
        return _error(
            409,
            "conflict",
            f"a request with {HEADER} {key!r} is still being processed; retry when it has finished",
            HEADER,
            {"Retry-After": "1"},
        )
    if claim.outcome is Outcome.REPLAY:
        return _replay(claim)
    try:
        async with _holding(db, claim, lock_s):
            response = await call()
    except BaseException:
        with contextlib.suppress(Exception):
            async with db.connection() as conn:
                await release(conn, claim)
        raise
    stored = _stored(response) if response.status_code < 500 else None
    async with db.connection() as conn:
        if stored is None:
            await release(conn, claim)
        else:
            payload, headers = stored
            await complete(conn, claim, payload=payload, response_status=response.status_code, headers=headers)
    return response


def idempotent_route(
    *,
    required: bool = True,
    methods: Sequence[str] = tuple(MUTATING),
    caller_headers: Sequence[str] = ("authorization", "cookie"),
    caller: Caller | None = None,
) -> type[Any]:
    """An APIRoute class for `APIRouter(route_class=idempotent_route())`: every mutating route of the
    router takes `Idempotency-Key` / `X-Idempotency-Key`, scoped by `X-Workflow-ID` and, with `caller`,
    by the authenticated caller (see HttpPolicy); the database is `request.app.state.db` (a Database)."""
    from fastapi import Request as FastAPIRequest
    from fastapi import Response as FastAPIResponse
    from fastapi.routing import APIRoute

    policy = HttpPolicy(
        required, frozenset(m.upper() for m in methods), tuple(h.lower() for h in caller_headers), caller
    )

    class IdempotentRoute(APIRoute):
        idempotency = policy  # read by the OpenAPI document (aether.gateway.openapi)

        def get_route_handler(self) -> Callable[[FastAPIRequest], Coroutine[Any, Any, FastAPIResponse]]:
            original = super().get_route_handler()

            async def handler(request: FastAPIRequest) -> FastAPIResponse:
                db: Database = request.app.state.db
                return await guard_request(request, lambda: original(request), policy, db)

            return handler

    return IdempotentRoute
