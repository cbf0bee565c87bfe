"""Credentials: sealed at rest, masked in every listing, bound to their row, expiry honoured, refreshed
ahead of expiry; a pg_dump holds none of the plaintexts."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from aether.agents import registry
from aether.config import Settings
from aether.db.embedded import pg_binary
from aether.db.pool import Database
from aether.errors import Conflict, CredentialExpired, NotFound, ValidationFailed
from aether.security import credentials, crypto
from aether.security.credentials import Refreshed, RefreshRequest

SECRET = "sk-live-0123456789abcdef-zyxw"


async def _agent(adb: Database, name: str, type: str = "tda") -> None:
    async with adb.transaction(actor="test") as conn:
        await registry.create_agent(conn, name=name, type=type)


async def _add(adb: Database, settings: Settings, **kw: object) -> credentials.Credential:
    async with adb.transaction(actor="user:1") as conn:
        return await credentials.add_credential(conn, settings, **kw)  # type: ignore[arg-type]


async def test_add_list_get_remove(adb: Database, keyed_settings: Settings) -> None:
    await _agent(adb, "writer", "pswa")
    added = await _add(adb, keyed_settings, agent="writer", platform="openai", key="api_key", value=SECRET)
    assert added.masked == "sk-...zyxw" and added.agent == "writer" and added.error is None
    assert SECRET not in repr(added) and SECRET not in str(added.to_dict())

    async with adb.connection() as conn:
        listed = await credentials.list_credentials(conn, keyed_settings)
        raw = await (await conn.execute("SELECT credential_value FROM credentials")).fetchone()
    assert [c.masked for c in listed] == ["sk-...zyxw"]
    assert raw is not None and raw["credential_value"].startswith(f"enc:v1:{added.data_key_id}:")
    assert SECRET not in raw["credential_value"]

    value = await credentials.get_secret(adb, keyed_settings, agent="writer", platform="openai", key="api_key")
    assert value == SECRET

    async with adb.transaction(actor="user:1") as conn:
        await credentials.remove_credential(conn, added.id)
    assert await credentials.find_secret(adb, keyed_settings, agent="writer", platform="openai", key="api_key") is None
    with pytest.raises(NotFound, match="aether credentials add --agent writer --platform openai --key api_key"):
        await credentials.get_secret(adb, keyed_settings, agent="writer", platform="openai", key="api_key")


async def test_short_values_are_masked_whole(adb: Database, keyed_settings: Settings) -> None:
    added = await _add(adb, keyed_settings, agent=None, platform="smtp", key="password", value="hunter2")
    assert added.masked == "****"


async def test_duplicates_conflict_unless_replaced(adb: Database, keyed_settings: Settings) -> None:
    await _add(adb, keyed_settings, agent=None, platform="smtp", key="password", value="first-value-123")
    with pytest.raises(Conflict, match=r"\(shared\)/smtp/password already exists"):
        await _add(adb, keyed_settings, agent=None, platform="smtp", key="password", value="second-value-456")
    await _add(adb, keyed_settings, agent=None, platform="smtp", key="password", value="third-value-789", replace=True)
    assert await credentials.get_secret(adb, keyed_settings, agent=None, platform="smtp", key="password") == (
        "third-value-789"
    )


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"platform": "Open AI"}, "platform"),
        ({"platform": ""}, "platform"),
        ({"key": "x" * 101}, "key"),
        ({"value": ""}, "value"),
        ({"value": "a\x00b"}, "value"),
        ({"agent": "nobody"}, "agent"),
    ],
)
async def test_bad_input_names_the_field_and_changes_nothing(
    adb: Database, keyed_settings: Settings, kw: dict[str, object], field: str
) -> None:
    args: dict[str, object] = {"agent": None, "platform": "openai", "key": "api_key", "value": SECRET, **kw}
    with pytest.raises((ValidationFailed, NotFound)) as err:
        await _add(adb, keyed_settings, **args)
    assert err.value.field == field
    assert await adb.fetch_one("SELECT count(*) AS n FROM credentials") == {"n": 0}


async def test_a_value_copied_into_another_row_fails_loudly(adb: Database, keyed_settings: Settings) -> None:
    await _agent(adb, "a1")
    await _agent(adb, "a2")
    await _add(adb, keyed_settings, agent="a1", platform="openai", key="api_key", value=SECRET)
    await _add(adb, keyed_settings, agent="a2", platform="openai", key="api_key", value="sk-other-value-0000")
    await adb.execute(
        """UPDATE credentials SET credential_value = (SELECT credential_value FROM credentials c
           JOIN agents a ON a.id = c.agent_id WHERE a.name = 'a1')
           WHERE agent_id = (SELECT id FROM agents WHERE name = 'a2')"""
    )
    with pytest.raises(crypto.CryptoError, match="failed authentication"):
        await credentials.get_secret(adb, keyed_settings, agent="a2", platform="openai", key="api_key")
    async with adb.connection() as conn:
        listed = {c.agent: c for c in await credentials.list_credentials(conn, keyed_settings)}
    assert (
        listed["a2"].masked == "<unreadable>" and listed["a2"].error and "failed authentication" in listed["a2"].error
    )
    assert listed["a1"].masked == "sk-...zyxw"


async def test_tampered_ciphertext_fails_loudly(adb: Database, keyed_settings: Settings) -> None:
    added = await _add(adb, keyed_settings, agent=None, platform="openai", key="api_key", value=SECRET)
    row = await adb.fetch_one("SELECT credential_value FROM credentials WHERE id = %s", (added.id,))
    assert row is not None
    prefix, blob = row["credential_value"].rsplit(":", 1)
    raw = bytearray(crypto.b64decode(blob))
    raw[-5] ^= 0x40
    await adb.execute(
        "UPDATE credentials SET credential_value = %s WHERE id = %s",
        (f"{prefix}:{crypto.b64encode(bytes(raw))}", added.id),
    )
    with pytest.raises(crypto.CryptoError, match=f"credential {added.id} .*failed authentication"):
        await credentials.get_secret(adb, keyed_settings, agent=None, platform="openai", key="api_key")


async def test_plaintext_cannot_be_stored_by_anyone(adb: Database) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        await adb.execute(
            "INSERT INTO credentials (platform, credential_key, credential_value) VALUES ('x', 'y', 'plain-secret')"
        )


async def test_agent_credentials_win_over_shared_ones(adb: Database, keyed_settings: Settings) -> None:
    await _agent(adb, "w1", "pswa")
    await _agent(adb, "w2", "pswa")
    await _add(adb, keyed_settings, agent=None, platform="openai", key="api_key", value="sk-shared-000000000")
    await _add(adb, keyed_settings, agent="w1", platform="openai", key="api_key", value="sk-own-1111111111")
    get = credentials.get_secret
    assert await get(adb, keyed_settings, agent="w1", platform="openai", key="api_key") == "sk-own-1111111111"
    assert await get(adb, keyed_settings, agent="w2", platform="openai", key="api_key") == "sk-shared-000000000"
    assert await get(adb, keyed_settings, agent=None, platform="openai", key="api_key") == "sk-shared-000000000"


async def test_without_an_agent_the_only_credential_is_used_and_several_are_ambiguous(
    adb: Database, keyed_settings: Settings
) -> None:
    await _agent(adb, "telegram", "telegram")
    await _add(adb, keyed_settings, agent="telegram", platform="telegram", key="bot_token", value="123:abcdefghijkl")
    async with adb.connection() as conn:
        value = await credentials.get_plaintext(conn, keyed_settings, platform="telegram", key="bot_token")
    assert value == "123:abcdefghijkl"
    await _agent(adb, "telegram2", "telegram")
    await _add(adb, keyed_settings, agent="telegram2", platform="telegram", key="bot_token", value="456:abcdefghijkl")
    with pytest.raises(ValidationFailed, match="several agents"):
        await credentials.get_secret(adb, keyed_settings, agent=None, platform="telegram", key="bot_token")


async def test_expired_credentials_are_not_used(adb: Database, keyed_settings: Settings) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    added = await _add(adb, keyed_settings, agent=None, platform="openai", key="api_key", value=SECRET, expires_at=past)
    assert added.expired and added.to_dict()["expired"] is True
    with pytest.raises(CredentialExpired, match=r"expired at .*--replace"):
        await credentials.get_secret(adb, keyed_settings, agent=None, platform="openai", key="api_key")
    future = datetime.now(UTC) + timedelta(hours=1)
    await _add(
        adb, keyed_settings, agent=None, platform="openai", key="api_key", value=SECRET, expires_at=future, replace=True
    )
    assert await credentials.get_secret(adb, keyed_settings, agent=None, platform="openai", key="api_key") == SECRET


async def test_refreshable_credentials_are_refreshed_ahead_of_expiry(
    adb: Database, keyed_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[RefreshRequest] = []

    async def refresh(request: RefreshRequest) -> Refreshed:
        calls.append(request)
        return Refreshed(
            f"ya29.fresh-{len(calls)}-token", datetime.now(UTC) + timedelta(hours=1), {"refresh_token": "1//rotated"}
        )

    monkeypatch.setitem(credentials.REFRESHERS, ("youtube", "access_token"), refresh)
    await _agent(adb, "yt", "youtube")
    soon = datetime.now(UTC) + timedelta(seconds=60)  # inside AETHER_CREDENTIAL_REFRESH_AHEAD_S (300)
    await _add(
        adb, keyed_settings, agent="yt", platform="youtube", key="access_token", value="ya29.old-token", expires_at=soon
    )
    await _add(adb, keyed_settings, agent="yt", platform="youtube", key="refresh_token", value="1//original")

    get = credentials.get_secret
    assert await get(adb, keyed_settings, agent="yt", platform="youtube", key="access_token") == "ya29.fresh-1-token"
    assert len(calls) == 1
    assert calls[0].value == "ya29.old-token" and calls[0].secrets["refresh_token"] == "1//original"
    # stored: the next read uses it without refreshing again
    assert await get(adb, keyed_settings, agent="yt", platform="youtube", key="access_token") == "ya29.fresh-1-token"
    assert await get(adb, keyed_settings, agent="yt", platform="youtube", key="refresh_token") == "1//rotated"
    assert len(calls) == 1
    audit = await adb.fetch_all(
        "SELECT actor FROM audit_log WHERE table_name = 'credentials' AND action = 'update' ORDER BY id"
    )
    assert audit and all(r["actor"] == "system:refresh" for r in audit)


async def test_a_failed_refresh_of_an_expired_credential_is_an_error(
    adb: Database, keyed_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refresh(request: RefreshRequest) -> Refreshed:
        raise RuntimeError("token endpoint said invalid_grant")

    monkeypatch.setitem(credentials.REFRESHERS, ("youtube", "access_token"), refresh)
    past = datetime.now(UTC) - timedelta(seconds=5)
    await _add(adb, keyed_settings, agent=None, platform="youtube", key="access_token", value="ya29.x", expires_at=past)
    with pytest.raises(CredentialExpired, match="invalid_grant"):
        await credentials.get_secret(adb, keyed_settings, agent=None, platform="youtube", key="access_token")
    # still valid: a failed refresh keeps using the current value
    soon = datetime.now(UTC) + timedelta(seconds=60)
    await _add(
        adb,
        keyed_settings,
        agent=None,
        platform="youtube",
        key="access_token",
        value="ya29.y",
        expires_at=soon,
        replace=True,
    )
    assert await credentials.get_secret(adb, keyed_settings, agent=None, platform="youtube", key="access_token") == (
        "ya29.y"
    )


async def test_pg_dump_holds_no_plaintext(adb: Database, keyed_settings: Settings, database_url: str) -> None:
    plaintexts = [f"sk-dump-test-{i:04d}-{'q' * i}" for i in range(1, 6)]
    await _agent(adb, "dumped", "pswa")
    for i, value in enumerate(plaintexts):
        await _add(adb, keyed_settings, agent="dumped", platform="openai", key=f"key_{i}", value=value)
    async with adb.transaction(actor="user:1") as conn:
        await credentials.add_credential(
            conn, keyed_settings, agent=None, platform="x", key="y", value="to-be-replaced-1"
        )
        await credentials.add_credential(
            conn, keyed_settings, agent=None, platform="x", key="y", value=plaintexts[0] + "-v2", replace=True
        )
    dump = subprocess.run(
        [str(pg_binary("pg_dump")), "--dbname", database_url, "--no-owner"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode()
    assert "COPY public.credentials" in dump and "enc:v1:" in dump
    for value in [*plaintexts, plaintexts[0] + "-v2", "to-be-replaced-1"]:
        assert value not in dump
    assert master_key_text(keyed_settings) not in dump


def master_key_text(settings: Settings) -> str:
    assert settings.master_key is not None
    return settings.master_key.get_secret_value()


async def test_providers_read_the_llm_key_and_smtp_password_from_the_store(
    adb: Database, keyed_settings: Settings
) -> None:
    from pydantic import SecretStr

    configured = keyed_settings.model_copy(
        update={"llm_base_url": "http://127.0.0.1:9/v1", "smtp_url": SecretStr("smtp://mailer@127.0.0.1:2525")}
    )
    untouched = await credentials.with_stored_secrets(adb, configured)
    assert untouched.llm_api_key is None and untouched.smtp_url == configured.smtp_url
    await _add(adb, keyed_settings, agent=None, platform="llm", key="api_key", value="sk-stored-0123456789")
    await _add(adb, keyed_settings, agent=None, platform="smtp", key="password", value="p@ss/word")
    filled = await credentials.with_stored_secrets(adb, configured)
    assert filled.llm_api_key is not None and filled.llm_api_key.get_secret_value() == "sk-stored-0123456789"
    assert filled.smtp_url is not None
    assert filled.smtp_url.get_secret_value() == "smtp://mailer:p%40ss%2Fword@127.0.0.1:2525"
    from aether.podcasts.mail import parse_smtp_url

    assert parse_smtp_url(filled.smtp_url.get_secret_value()).password == "p@ss/word"
    explicit = configured.model_copy(update={"llm_api_key": SecretStr("sk-from-env-0123456789")})
    assert (await credentials.with_stored_secrets(adb, explicit)).llm_api_key == explicit.llm_api_key
