"""Key rotation: every credential sealed under a new data key, in batches of short transactions, and the
old keys retired. Both halves meet here: the key ring (aether.security.keys) and the credential format
(aether.security.credentials)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aether.config import Settings
from aether.db import Database
from aether.db.queries import load_queries
from aether.security.credentials import reseal_value
from aether.security.keys import Q as KQ
from aether.security.keys import key_ring

Q = load_queries(__file__, "rotation.sql")


@dataclass
class RotationReport:
    new_key_id: str
    resealed: int = 0
    batches: int = 0
    retired: list[str] | None = None


async def rotate(
    db: Database,
    settings: Settings,
    *,
    actor: str,
    batch_size: int | None = None,
    on_batch: Callable[[int], Awaitable[None]] | None = None,
) -> RotationReport:
    """Seal every credential under a new data key, in batches of short transactions, then retire the old
    keys. Readers keep working throughout: until the last batch commits, old values still open with the
    retiring keys. Running it again after a crash resumes (no second new key while one is retiring)."""
    ring = key_ring(settings)
    size = batch_size or settings.key_rotation_batch_size
    async with db.transaction(actor=actor) as conn:
        await conn.execute(KQ.lock_key_ring)
        rows = await (await conn.execute(KQ.all_keys)).fetchall()
        if any(r["status"] == "retiring" for r in rows):
            active = next(r for r in rows if r["status"] == "active")
            new_key_id = str(active["key_id"])  # resume a rotation that stopped half-way
        else:
            new_key_id = await ring.create_key(conn, retire_active=True)
    report = RotationReport(new_key_id)
    while True:
        async with db.transaction(actor=actor) as conn:
            batch = await (
                await conn.execute(Q.credentials_to_reseal, {"active": new_key_id, "limit": size})
            ).fetchall()
            if batch:
                new_key = await ring.key(conn, new_key_id)
                for row in batch:
                    old_key = await ring.key(conn, row["data_key_id"])
                    value = reseal_value(row, old_key, new_key, new_key_id)
                    await conn.execute(Q.reseal_credential, {"id": row["id"], "value": value})
                report.resealed += len(batch)
                report.batches += 1
            else:
                await conn.execute(KQ.lock_key_ring)
                left = await (await conn.execute(Q.count_on_retiring_keys)).fetchone()
                if left is not None and left["n"]:
                    continue  # a writer holding the old key committed meanwhile: another pass
                retired = await (await conn.execute(Q.retire_retiring_keys)).fetchall()
                report.retired = [str(r["key_id"]) for r in retired]
                return report
        if on_batch is not None:
            await on_batch(report.resealed)
