"""`credentials review` against a recorded restore: what changed, appeared, disappeared or expired."""

from __future__ import annotations

import json

import psycopg
from psycopg.types.json import Jsonb

from tests.support import run_aether

SEALED = "enc:v1:k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def test_review_lists_what_must_be_reissued(cli_env: dict[str, str], database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO data_keys (key_id, version, wrapped_key, master_key_id) VALUES ('k1', 1, 'w', 'm')")
        agent = conn.execute("INSERT INTO agents (name, type) VALUES ('yt', 'youtube') RETURNING id").fetchone()
        assert agent is not None
        rows = conn.execute(
            "INSERT INTO credentials (agent_id, platform, credential_key, credential_value, expires_at, updated_at) "
            "VALUES (%(a)s, 'youtube', 'refresh_token', %(v)s, NULL, '2026-01-01 00:00'), "
            "(NULL, 'smtp', 'password', %(v)s, '2020-01-01 00:00', '2026-01-01 00:00'), "
            "(NULL, 'openai', 'api_key', %(v)s, NULL, '2026-01-01 00:00') RETURNING id",
            {"a": agent[0], "v": SEALED},
        ).fetchall()
        youtube, smtp, openai = (r[0] for r in rows)
        before = [
            {"id": youtube, "agent_id": agent[0], "platform": "youtube", "credential_key": "refresh_token",
             "expires_at": None, "updated_at": "2026-03-01T00:00:00"},
            {"id": smtp, "agent_id": None, "platform": "smtp", "credential_key": "password",
             "expires_at": "2020-01-01T00:00:00", "updated_at": "2026-01-01T00:00:00"},
            {"id": 999, "agent_id": None, "platform": "telegram", "credential_key": "bot_token",
             "expires_at": None, "updated_at": "2026-02-01T00:00:00"},
        ]  # fmt: skip
        conn.execute(
            "INSERT INTO restore_events (backup_id, recovered_to, credentials_before) VALUES ('b1', '2026-01-15', %s)",
            (Jsonb(before),),
        )
    result = run_aether(["credentials", "review", "--json", "--mark-reviewed"], cli_env)
    assert result.returncode == 0, result.stderr
    review = json.loads(result.stdout)
    assert review["restore"]["backup_id"] == "b1"
    found = {(i["credential_id"], i["reason"]) for i in review["items"]}
    assert found == {
        (youtube, "changed after the backup (the restored value is stale)"),
        (999, "issued after the backup (lost by the restore)"),
        (openai, "removed after the backup (back after the restore)"),
        (smtp, "expired"),
    }
    assert next(i for i in review["items"] if i["credential_id"] == youtube)["agent"] == "yt"
    assert SEALED not in result.stdout
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT reviewed_at IS NOT NULL FROM restore_events").fetchone() == (True,)

    table = run_aether(["credentials", "review"], {**cli_env, "COLUMNS": "200"})
    assert table.returncode == 0 and "telegram" in table.stdout and "re-issue" in table.stdout


def test_review_without_a_restore_lists_expired_only(cli_env: dict[str, str]) -> None:
    result = run_aether(["credentials", "review", "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    review = json.loads(result.stdout)
    assert review["restore"] is None and review["items"] == []
    assert "no restore is recorded" in review["notes"][0]
