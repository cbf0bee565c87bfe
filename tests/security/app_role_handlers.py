"""Task handlers for the app-role tests; a real worker imports this with `--handlers`.

`roletest.whoami` reports, from inside the worker process, which database role its pooled connections act
as, and what PostgreSQL answers when that role tries DDL or an audit change (the SQLSTATE; None = allowed).
"""

from __future__ import annotations

from typing import Any

import psycopg

from aether.db import Database
from aether.queue.tasks import Blueprint, TaskContext

AGENT = "roletest"

ATTEMPTS = {
    "create_table": "CREATE TABLE roletest_sneaky (id INT)",
    "alter_table": "ALTER TABLE agents ADD COLUMN roletest_sneaky INT",
    "drop_trigger": "DROP TRIGGER aether_audit ON agents",
    "update_audit": "UPDATE audit_log SET actor = 'forged'",
    "delete_audit": "DELETE FROM audit_log",
    "prune_audit": "SELECT aether_audit_prune('1 day')",
}


tasks = Blueprint()


async def _refusal(db: Database, statement: str) -> str | None:
    """The SQLSTATE PostgreSQL refuses `statement` with (rolled back either way), or None."""
    try:
        async with db.connection() as conn, conn.transaction(force_rollback=True):
            await conn.execute(statement.encode())
    except psycopg.Error as exc:
        return exc.sqlstate
    return None


@tasks.task("roletest.whoami", agent=AGENT)
async def whoami(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    async with ctx.db.connection() as conn:
        cur = await conn.execute("SELECT current_user::text AS current, session_user::text AS session")
        row = await cur.fetchone()
    assert row is not None
    refused = {name: await _refusal(ctx.db, sql) for name, sql in ATTEMPTS.items()}
    return {"current_user": row["current"], "session_user": row["session"], "refused": refused}
