"""The master key (env or 0600 file) and the key ring: a missing or wrong key is a clear error naming the
key ids; rotation re-seals in batches while readers keep reading, then retires the old key."""

from __future__ import annotations

import asyncio
import base64
import os
import stat

import pytest
from pydantic import SecretStr

from aether.config import Settings, load_settings
from aether.db.pool import Database
from aether.errors import ConfigError, MasterKeyError
from aether.security import credentials, keys, rotation
from aether.security.keys import KeyRing


async def _add(adb: Database, settings: Settings, key: str, value: str) -> None:
    async with adb.transaction(actor="test") as conn:
        await credentials.add_credential(conn, settings, agent=None, platform="test", key=key, value=value)


def _fresh(settings: Settings) -> Settings:
    """The same settings in what stands for another process: no key cached."""
    keys._RINGS.clear()
    return settings


async def test_the_master_key_file_is_created_0600_on_first_use(adb: Database, settings: Settings) -> None:
    path = keys.master_key_path(settings)
    assert not path.exists()
    await _add(adb, settings, "api_key", "sk-first-secret-0001")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(path.read_text().strip())) == 32
    master = keys.read_master_key(settings)
    assert master is not None
    row = await adb.fetch_one("SELECT master_key_id, wrapped_key FROM data_keys")
    assert row is not None and row["master_key_id"] == master.key_id
    assert base64.b64encode(master.key).decode() not in str(row["wrapped_key"])
    _fresh(settings)
    value = await credentials.get_secret(adb, settings, agent=None, platform="test", key="api_key")
    assert value == "sk-first-secret-0001"


async def test_a_missing_master_key_names_the_key_ids(adb: Database, settings: Settings) -> None:
    await _add(adb, settings, "api_key", "sk-first-secret-0001")
    master = keys.read_master_key(settings)
    assert master is not None
    keys.master_key_path(settings).unlink()
    _fresh(settings)
    row = await adb.fetch_one("SELECT key_id FROM data_keys")
    assert row is not None
    with pytest.raises(MasterKeyError) as err:
        await credentials.get_secret(adb, settings, agent=None, platform="test", key="api_key")
    assert "no master key" in err.value.message and row["key_id"] in err.value.message
    assert master.key_id in err.value.message and err.value.field == "AETHER_MASTER_KEY"
    # and no new key file is made up while data keys exist
    with pytest.raises(MasterKeyError):
        await _add(adb, settings, "other", "sk-second-secret-02")
    assert not keys.master_key_path(settings).exists()


async def test_a_wrong_master_key_names_both_key_ids(adb: Database, settings: Settings) -> None:
    await _add(adb, settings, "api_key", "sk-first-secret-0001")
    right = keys.read_master_key(settings)
    assert right is not None
    wrong = settings.model_copy(update={"master_key": SecretStr(base64.b64encode(os.urandom(32)).decode())})
    wrong_id = keys.master_key_id(base64.b64decode(wrong.master_key.get_secret_value()))  # type: ignore[union-attr]
    with pytest.raises(MasterKeyError) as err:
        await credentials.get_secret(adb, wrong, agent=None, platform="test", key="api_key")
    assert right.key_id in err.value.message and wrong_id in err.value.message
    async with adb.connection() as conn:
        with pytest.raises(MasterKeyError):
            await KeyRing(wrong).verify(conn)
        assert len(await KeyRing(settings).verify(conn)) == 1
    with pytest.raises(MasterKeyError, match=right.key_id):
        await keys.check_master_key(adb, wrong)
    assert [k.status for k in await keys.check_master_key(adb, settings)] == ["active"]


async def test_a_tampered_wrapped_key_fails_loudly(adb: Database, keyed_settings: Settings) -> None:
    await _add(adb, keyed_settings, "api_key", "sk-first-secret-0001")
    row = await adb.fetch_one("SELECT key_id, wrapped_key FROM data_keys")
    assert row is not None
    head, blob = row["wrapped_key"].rsplit(":", 1)
    flipped = blob[:10] + ("A" if blob[10] != "A" else "B") + blob[11:]
    await adb.execute("UPDATE data_keys SET wrapped_key = %s", (f"{head}:{flipped}",))
    _fresh(keyed_settings)
    with pytest.raises(MasterKeyError, match=f"data key {row['key_id']} failed authentication"):
        await credentials.get_secret(adb, keyed_settings, agent=None, platform="test", key="api_key")


def test_a_key_file_readable_by_others_is_refused(settings: Settings) -> None:
    path = keys.master_key_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(base64.b64encode(os.urandom(32)).decode())
    path.chmod(0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        keys.read_master_key(settings)


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"x" * 16).decode()])
def test_a_malformed_master_key_setting_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(master_key=value)
    assert err.value.field == "AETHER_MASTER_KEY"


async def test_rotation_under_concurrent_readers_loses_nothing(adb: Database, keyed_settings: Settings) -> None:
    values = {f"key_{i:03d}": f"secret-value-{i:03d}-{os.urandom(6).hex()}" for i in range(60)}
    async with adb.transaction(actor="test") as conn:
        for key, value in values.items():
            await credentials.add_credential(conn, keyed_settings, agent=None, platform="test", key=key, value=value)
    old = await adb.fetch_one("SELECT key_id FROM data_keys WHERE status = 'active'")
    assert old is not None

    done = asyncio.Event()
    reads = {"n": 0, "during": 0}
    errors: list[BaseException] = []

    async def reader(offset: int) -> None:
        # every reader has key rings of its own now and then, as other processes would
        names = list(values)
        i = offset
        while not done.is_set() or reads["n"] < 120:
            key = names[i % len(names)]
            try:
                ring_settings = keyed_settings.model_copy() if i % 7 == 0 else keyed_settings
                if i % 7 == 0:
                    keys._RINGS.clear()
                got = await credentials.get_secret(adb, ring_settings, agent=None, platform="test", key=key)
                assert got == values[key], key
            except BaseException as exc:
                errors.append(exc)
                return
            reads["n"] += 1
            if not done.is_set():
                reads["during"] += 1
            i += 1

    async def on_batch(resealed: int) -> None:
        await asyncio.sleep(0)  # let the readers in between batches

    readers = [asyncio.create_task(reader(k * 13)) for k in range(4)]
    report = await rotation.rotate(adb, keyed_settings, actor="cli:test", batch_size=7, on_batch=on_batch)
    done.set()
    await asyncio.gather(*readers)

    assert errors == []
    assert reads["during"] > 0
    assert report.resealed == 60 and report.batches == 9 and report.retired == [old["key_id"]]
    rows = await adb.fetch_all("SELECT key_id, status, wrapped_key FROM data_keys ORDER BY version")
    assert [(r["key_id"], r["status"]) for r in rows] == [(old["key_id"], "retired"), (report.new_key_id, "active")]
    assert rows[0]["wrapped_key"] is None
    on_new = await adb.fetch_one("SELECT count(*) AS n FROM credentials WHERE data_key_id = %s", (report.new_key_id,))
    assert on_new == {"n": 60}
    _fresh(keyed_settings)
    for key, value in values.items():
        assert await credentials.get_secret(adb, keyed_settings, agent=None, platform="test", key=key) == value
    audited = await adb.fetch_one(
        "SELECT count(*) AS n FROM audit_log "
        "WHERE table_name = 'credentials' AND action = 'update' AND actor = 'cli:test'"
    )
    assert audited == {"n": 60}


async def test_writers_during_rotation_end_up_on_the_new_key(adb: Database, keyed_settings: Settings) -> None:
    for i in range(20):
        await _add(adb, keyed_settings, f"before_{i}", f"value-before-{i:04d}")
    written = 0

    async def on_batch(resealed: int) -> None:
        nonlocal written
        await _add(adb, keyed_settings, f"during_{written}", f"value-during-{written:04d}")
        written += 1

    report = await rotation.rotate(adb, keyed_settings, actor="cli:test", batch_size=5, on_batch=on_batch)
    assert written >= 3
    left = await adb.fetch_one("SELECT count(*) AS n FROM credentials WHERE data_key_id <> %s", (report.new_key_id,))
    assert left == {"n": 0}
    for i in range(written):
        got = await credentials.get_secret(adb, keyed_settings, agent=None, platform="test", key=f"during_{i}")
        assert got == f"value-during-{i:04d}"


async def test_an_interrupted_rotation_resumes_without_a_second_new_key(
    adb: Database, keyed_settings: Settings
) -> None:
    for i in range(10):
        await _add(adb, keyed_settings, f"k{i}", f"value-number-{i:04d}")

    class Crash(Exception):
        pass

    async def crash(resealed: int) -> None:
        raise Crash

    with pytest.raises(Crash):
        await rotation.rotate(adb, keyed_settings, actor="cli:test", batch_size=3, on_batch=crash)
    statuses = await adb.fetch_all("SELECT status FROM data_keys ORDER BY version")
    assert [r["status"] for r in statuses] == ["retiring", "active"]
    _fresh(keyed_settings)
    for i in range(10):  # readers are fine half-way
        got = await credentials.get_secret(adb, keyed_settings, agent=None, platform="test", key=f"k{i}")
        assert got == f"value-number-{i:04d}"
    report = await rotation.rotate(adb, keyed_settings, actor="cli:test", batch_size=3)
    assert report.resealed == 7 and report.retired is not None and len(report.retired) == 1
    statuses = await adb.fetch_all("SELECT status FROM data_keys ORDER BY version")
    assert [r["status"] for r in statuses] == ["retired", "active"]


async def test_rotation_on_an_empty_installation_makes_the_first_key(adb: Database, keyed_settings: Settings) -> None:
    report = await rotation.rotate(adb, keyed_settings, actor="cli:test")
    assert report.resealed == 0 and report.retired == []
    assert await adb.fetch_one("SELECT count(*) AS n FROM data_keys WHERE status = 'active'") == {"n": 1}


async def test_rewrapping_under_a_new_master_key(adb: Database, keyed_settings: Settings) -> None:
    await _add(adb, keyed_settings, "api_key", "sk-first-secret-0001")
    new_text = base64.b64encode(os.urandom(32)).decode()
    new_master = keys.MasterKey(base64.b64decode(new_text), "test")
    assert await keys.rewrap(adb, keyed_settings, new_master, actor="cli:test")
    new_settings = keyed_settings.model_copy(update={"master_key": SecretStr(new_text)})
    got = await credentials.get_secret(adb, _fresh(new_settings), agent=None, platform="test", key="api_key")
    assert got == "sk-first-secret-0001"
    with pytest.raises(MasterKeyError):
        await credentials.get_secret(adb, _fresh(keyed_settings), agent=None, platform="test", key="api_key")
