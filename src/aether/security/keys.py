"""The master key and the key ring of data keys.

* The master key (32 bytes) comes from AETHER_MASTER_KEY (base64) or the file AETHER_HOME/master.key,
  which is created with mode 0600 the first time a key is needed on an installation that has no data
  key yet. It never touches the database; its id (`mk-` + 12 hex digits of a SHA-256 over it) does.
* Data keys seal credential values. Each lives in `data_keys`, wrapped by the master key (AES-256-GCM,
  bound to the data key's id), with a status: `active` (seals new values; exactly one), `retiring`
  (still opens values while rotation re-seals them), `retired` (key material erased).
* `rotate()` makes a new active key, re-seals every credential in batches while readers and writers
  keep working, then retires the old keys. A crashed rotation resumes where it stopped.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aether.config import Settings
from aether.db import AsyncConnection, Database, load_queries
from aether.errors import CryptoError, KeyRetired, MasterKeyError
from aether.security import crypto

Q = load_queries(__file__, "keys.sql")

MASTER_KEY_FILE = "master.key"
MASTER_KEY_ENV = "AETHER_MASTER_KEY"


# ---- the master key ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MasterKey:
    key: bytes
    source: str  # "AETHER_MASTER_KEY" or the key file's path

    @property
    def key_id(self) -> str:
        return master_key_id(self.key)


def master_key_id(key: bytes) -> str:
    return "mk-" + hashlib.sha256(b"aether.master-key-id\x00" + key).hexdigest()[:12]


def master_key_path(settings: Settings) -> Path:
    return settings.home.expanduser().resolve() / MASTER_KEY_FILE


def decode_master_key(text: str, *, source: str) -> bytes:
    raw = text.strip()
    try:
        key = base64.b64decode(raw.translate(str.maketrans("-_", "+/")), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(f"the master key in {source} is not valid base64", field=MASTER_KEY_ENV) from None
    if len(key) != crypto.KEY_BYTES:
        raise MasterKeyError(
            f"the master key in {source} decodes to {len(key)} bytes; it must be 32", field=MASTER_KEY_ENV
        )
    return key


def read_master_key(settings: Settings) -> MasterKey | None:
    """AETHER_MASTER_KEY, else AETHER_HOME/master.key; None when neither exists."""
    if settings.master_key is not None:
        return MasterKey(
            decode_master_key(settings.master_key.get_secret_value(), source=MASTER_KEY_ENV), MASTER_KEY_ENV
        )
    path = master_key_path(settings)
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyError(
            f"{path} is readable by other users (mode {stat.S_IMODE(info.st_mode):04o}); run `chmod 600 {path}`",
            field=MASTER_KEY_ENV,
        )
    return MasterKey(decode_master_key(path.read_text(encoding="ascii"), source=str(path)), str(path))


def create_master_key_file(settings: Settings) -> MasterKey:
    """Write a new random master key to AETHER_HOME/master.key (mode 0600), atomically: a concurrent
    creator's file wins and is returned."""
    path = master_key_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = crypto.new_key()
    fd, tmp = tempfile.mkstemp(prefix=".master.key.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(key).decode("ascii") + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if another process created it first: never overwrite a key
        except FileExistsError:
            existing = read_master_key(settings)
            assert existing is not None
            return existing
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return MasterKey(key, str(path))


# ---- the key ring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DataKeyInfo:
    key_id: str
    version: int
    status: str
    master_key_id: str
    created_at: datetime | None
    retired_at: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DataKeyInfo:
        return cls(
            row["key_id"], row["version"], row["status"], row["master_key_id"], row["created_at"], row["retired_at"]
        )


class KeyRing:
    """The data keys this process has unwrapped, by key id. One per master key (see `key_ring()`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._master: MasterKey | None = None
        self._keys: dict[str, bytes] = {}

    # -- master key --

    def master(self, *, create: bool = False) -> MasterKey:
        if self._master is None:
            found = read_master_key(self.settings)
            if found is None and create and self.settings.master_key is None:
                found = create_master_key_file(self.settings)
            if found is None:
                raise MasterKeyError(
                    f"no master key: {MASTER_KEY_ENV} is unset and {master_key_path(self.settings)} does not exist",
                    field=MASTER_KEY_ENV,
                )
            self._master = found
        return self._master

    def _missing_master(self, row: dict[str, Any]) -> MasterKeyError:
        return MasterKeyError(
            f"no master key: {MASTER_KEY_ENV} is unset and {master_key_path(self.settings)} does not exist, but "
            f"data key {row['key_id']} is wrapped by master key {row['master_key_id']}; set {MASTER_KEY_ENV} "
            "to that key or restore the key file",
            field=MASTER_KEY_ENV,
        )

    def unwrap(self, row: dict[str, Any]) -> bytes:
        """The plaintext data key of a `data_keys` row; a wrong or missing master key names both key ids."""
        key_id = row["key_id"]
        if key_id in self._keys:
            return self._keys[key_id]
        if row["status"] == "retired" or row["wrapped_key"] is None:
            raise KeyRetired(f"data key {key_id} is retired: its key material was erased after rotation")
        if self._master is None and read_master_key(self.settings) is None:
            raise self._missing_master(row)
        master = self.master()
        if master.key_id != row["master_key_id"]:
            raise MasterKeyError(
                f"data key {key_id} is wrapped by master key {row['master_key_id']}, but the master key from "
                f"{master.source} is {master.key_id}; set {MASTER_KEY_ENV} to the key that wrapped it "
                "(or restore the key file)",
                field=MASTER_KEY_ENV,
            )
        try:
            sealed = crypto.parse(row["wrapped_key"])
            key = crypto.open_sealed(master.key, sealed, crypto.data_key_context(key_id), what=f"data key {key_id}")
        except CryptoError as exc:
            raise MasterKeyError(f"{exc.message} (master key {master.key_id})", field=MASTER_KEY_ENV) from None
        if len(key) != crypto.KEY_BYTES:
            raise MasterKeyError(f"data key {key_id} has {len(key)} bytes; a data key has 32")
        self._keys[key_id] = key
        return key

    def wrap(self, key_id: str, key: bytes, master: MasterKey) -> str:
        return str(crypto.seal(master.key, master.key_id, key, crypto.data_key_context(key_id)))

    # -- data keys in the database --

    async def key(self, conn: AsyncConnection, key_id: str) -> bytes:
        """The data key `key_id`, from this process's cache or the key ring table."""
        if key_id in self._keys:
            return self._keys[key_id]
        row = await (await conn.execute(Q.key_by_id, {"key_id": key_id})).fetchone()
        if row is None:
            raise CryptoError(f"data key {key_id} is not in the key ring (data_keys)")
        return self.unwrap(row)

    async def active(self, conn: AsyncConnection) -> tuple[str, bytes]:
        """The active data key (created on first use), held FOR SHARE for the caller's transaction."""
        row = await (await conn.execute(Q.active_key_for_share)).fetchone()
        if row is None:
            await self.create_key(conn)
            row = await (await conn.execute(Q.active_key_for_share)).fetchone()
            assert row is not None
        return row["key_id"], self.unwrap(row)

    async def create_key(self, conn: AsyncConnection, *, retire_active: bool = False) -> str:
        """Make a new active data key (the old active one becomes `retiring` when `retire_active`).
        The first key of an installation may create the master key file; later ones never do."""
        await conn.execute(Q.lock_key_ring)
        rows = await (await conn.execute(Q.all_keys)).fetchall()
        active = [r for r in rows if r["status"] == "active"]
        if active and not retire_active:
            return str(active[0]["key_id"])
        if rows and self._master is None and read_master_key(self.settings) is None:
            raise self._missing_master(active[0] if active else rows[-1])
        for row in active:
            self.unwrap(row)  # the master key must open the current key before it may seal a new one
        master = self.master(create=not rows)
        version = max((r["version"] for r in rows), default=0) + 1
        key_id = f"k{version}-{secrets.token_hex(4)}"  # unique across installations sharing a master key
        key = crypto.new_key()
        if active:
            await conn.execute(Q.start_retiring_active)
        await conn.execute(
            Q.insert_key,
            {
                "key_id": key_id,
                "version": version,
                "wrapped_key": self.wrap(key_id, key, master),
                "master_key_id": master.key_id,
            },
        )
        self._keys[key_id] = key
        return key_id

    async def verify(self, conn: AsyncConnection) -> list[DataKeyInfo]:
        """Open every live data key with the master key: the check to run at start."""
        rows = await (await conn.execute(Q.all_keys)).fetchall()
        for row in rows:
            if row["status"] != "retired":
                self.unwrap(row)
        return [DataKeyInfo.from_row(r) for r in rows]

    def forget(self) -> None:
        self._keys.clear()
        self._master = None


_RINGS: dict[tuple[str, str], KeyRing] = {}


def key_ring(settings: Settings) -> KeyRing:
    """The process-wide key ring for these settings' master key source."""
    source = settings.master_key.get_secret_value() if settings.master_key else str(master_key_path(settings))
    ident = (str(master_key_path(settings)), hashlib.sha256(source.encode()).hexdigest())
    ring = _RINGS.get(ident)
    if ring is None:
        ring = _RINGS[ident] = KeyRing(settings)
    return ring


async def check_master_key(db: Database, settings: Settings) -> list[DataKeyInfo]:
    """The start-up check of the gateway, workers and `aether up`: the master key must open every live data
    key; a missing or wrong key raises MasterKeyError naming the key ids (never a silent skip)."""
    async with db.connection() as conn:
        return await key_ring(settings).verify(conn)


async def list_keys(conn: AsyncConnection) -> list[tuple[DataKeyInfo, int]]:
    """Every data key with the number of credentials it seals."""
    rows = await (await conn.execute(Q.all_keys)).fetchall()
    counts = {r["data_key_id"]: r["n"] for r in await (await conn.execute(Q.credentials_per_key)).fetchall()}
    return [(DataKeyInfo.from_row(r), int(counts.get(r["key_id"], 0))) for r in rows]


# ---- rotation ---------------------------------------------------------------------------------


async def rewrap(db: Database, settings: Settings, new_master: MasterKey, *, actor: str) -> list[str]:
    """Wrap every live data key under `new_master` (master key rotation); credentials stay as they are."""
    ring = key_ring(settings)
    done: list[str] = []
    async with db.transaction(actor=actor) as conn:
        await conn.execute(Q.lock_key_ring)
        for row in await (await conn.execute(Q.all_keys)).fetchall():
            if row["status"] == "retired":
                continue
            key = ring.unwrap(row)
            await conn.execute(
                Q.rewrap_key,
                {
                    "key_id": row["key_id"],
                    "wrapped_key": ring.wrap(row["key_id"], key, new_master),
                    "master_key_id": new_master.key_id,
                },
            )
            done.append(str(row["key_id"]))
    return done
