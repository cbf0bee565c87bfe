"""Readiness: the database answers and its schema is current (the gateway serves it as /readyz).

A load balancer sends traffic only to ready gateways; an orchestrator restarts only unhealthy ones, so
/healthz never touches the database.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any

from aether.db import Database
from aether.db.migrate import Migration, discover

READY_TIMEOUT_S = 5.0
RETRY_AFTER_S = 5


@lru_cache(maxsize=1)
def bundled_migrations() -> tuple[Migration, ...]:
    return tuple(discover())


async def readiness(db: Database | None) -> dict[str, Any]:
    """{"ready": bool, "checks": {...}}: database reachable, every bundled migration applied unchanged."""
    checks: dict[str, Any] = {}
    if db is None:
        return {"ready": False, "checks": {"database": "no database pool (the application is starting)"}}
    try:
        applied = await asyncio.wait_for(_applied(db), READY_TIMEOUT_S)
    except TimeoutError:
        return {"ready": False, "checks": {"database": f"no answer within {READY_TIMEOUT_S:.0f} s"}}
    except Exception as exc:
        reason = getattr(exc, "message", None) or str(exc).strip().splitlines()[0] or type(exc).__name__
        return {"ready": False, "checks": {"database": f"unreachable: {reason}"}}
    checks["database"] = "ok"
    pending = [m.filename for m in bundled_migrations() if m.version not in applied]
    modified = [m.filename for m in bundled_migrations() if m.version in applied and applied[m.version] != m.checksum]
    if pending or modified:
        checks["migrations"] = {"pending": pending, "modified": modified}
    else:
        checks["migrations"] = "current"
    return {"ready": not pending and not modified, "checks": checks}


async def _applied(db: Database) -> dict[int, str]:
    async with db.connection() as conn:
        cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        row = await cur.fetchone()
        if not row or not row["present"]:
            return {}
        cur = await conn.execute("SELECT version, checksum FROM schema_migrations")
        return {int(r["version"]): str(r["checksum"]).strip() for r in await cur.fetchall()}
