"""Point-in-time recovery: write rows, note the time, write more, restore to the noted time into a new
data directory, start it: exactly the first rows are there. Then switch to it and keep backing up; and
`credentials review` lists what the restore undid."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from aether.config import load_settings
from aether.db.embedded import EmbeddedServer
from aether.errors import ValidationFailed
from aether.ops.pgtools import ScratchCluster, started
from aether.ops.restore import parse_time, restore
from tests.ops.support import reopen
from tests.support import run_aether

SEALED = "enc:v1:k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def _run(args: list[str], env: dict[str, str]) -> dict[str, object]:
    result = run_aether(args, env, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    value = json.loads(result.stdout)
    assert isinstance(value, dict)
    return value


@pytest.mark.slow
def test_point_in_time_recovery_then_switch_and_review(embedded_home: Path, embedded_env: dict[str, str]) -> None:
    url = EmbeddedServer(embedded_home).url()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO data_keys (key_id, version, wrapped_key, master_key_id) VALUES ('k1', 1, 'w', 'm')")
        conn.execute(
            "INSERT INTO credentials (platform, credential_key, credential_value, expires_at) VALUES "
            "('youtube', 'access_token', %(v)s, NULL), ('telegram', 'bot_token', %(v)s, NULL), "
            "('openai', 'api_key', %(v)s, LOCALTIMESTAMP - INTERVAL '1 day')",
            {"v": SEALED},
        )
    full = _run(["backup", "create", "--full", "--json"], embedded_env)["backup"]
    assert isinstance(full, dict)

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO agents (name, type) VALUES ('before-1', 'tda'), ('before-2', 'sca')")
        conn.execute("INSERT INTO agents (name, type) VALUES ('before-3', 'pswa')")
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        noted: datetime = row[0]
        conn.execute("INSERT INTO agents (name, type) VALUES ('after-1', 'tda'), ('after-2', 'vfa')")
        conn.execute(
            "UPDATE credentials SET expires_at = LOCALTIMESTAMP + INTERVAL '30 days' WHERE platform = 'youtube'"
        )
        conn.execute("DELETE FROM credentials WHERE platform = 'telegram'")
        conn.execute(
            "INSERT INTO credentials (platform, credential_key, credential_value) VALUES ('smtp', 'password', %s)",
            (SEALED,),
        )

    target = embedded_home.parent / "restored"
    restored = _run(["backup", "restore", "--to", noted.isoformat(), "--target", str(target), "--json"], embedded_env)
    assert restored["chain"] == [full["id"]]
    recovered_to = datetime.fromisoformat(str(restored["recovered_to"]))
    assert recovered_to <= noted
    assert restored["credentials_snapshot"] is True
    assert f"mv {target} {embedded_home / 'pgdata'}" in restored["next_steps"]  # type: ignore[operator]
    assert not (target / "recovery.signal").exists()

    with started(ScratchCluster(target)) as cluster:
        with psycopg.connect(cluster.url()) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM agents ORDER BY name").fetchall()]
            assert names == ["before-1", "before-2", "before-3"]
        env = {**embedded_env, "AETHER_DATABASE_URL": cluster.url()}
        review = _run(["credentials", "review", "--json"], env)
    reasons = {(i["platform"], i["reason"].split(" (")[0]) for i in review["items"]}  # type: ignore[union-attr]
    assert reasons == {
        ("youtube", "changed after the backup"),
        ("telegram", "removed after the backup"),
        ("smtp", "issued after the backup"),
        ("openai", "expired"),
    }
    assert "credential_value" not in json.dumps(review) and SEALED not in json.dumps(review)

    # switch to the restored directory exactly as the restore said, and go on backing up
    server = EmbeddedServer(embedded_home)
    reopen(embedded_home)
    server.stop()
    os.rename(embedded_home / "pgdata", embedded_home / "pgdata.before-restore")
    os.rename(target, embedded_home / "pgdata")
    server.ensure_running()
    with psycopg.connect(server.url()) as conn:
        assert conn.execute("SELECT count(*) FROM agents").fetchone() == (3,)
        timeline = conn.execute("SELECT timeline_id FROM pg_control_checkpoint()").fetchone()
    after = _run(["backup", "create", "--json"], embedded_env)["backup"]
    assert isinstance(after, dict) and timeline is not None
    assert after["kind"] == "full" and after["timeline"] == timeline[0] > 1  # a new timeline starts a new chain
    archive = embedded_home / "backups" / "wal" / str(full["system_identifier"])
    assert (archive / f"{timeline[0]:08X}.history").exists()


def test_restore_refuses_bad_targets_and_times(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "file").write_text("x")
    with pytest.raises(ValidationFailed, match=r"--target .* must be a new or empty directory") as info:
        restore(settings, target=busy)
    assert info.value.field == "--target"
    with pytest.raises(ValidationFailed, match="--target must not be the live data directory"):
        restore(settings, target=settings.pgdata)
    future = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(ValidationFailed, match=r"--to .* is in the future"):
        restore(settings, target=tmp_path / "new", to=future)
    with pytest.raises(ValidationFailed, match="--to must be an ISO 8601 time"):
        parse_time("yesterday-ish")
    assert parse_time("2026-11-21 10:00:00+00") == datetime(2026, 11, 21, 10, tzinfo=UTC)
    assert parse_time("2026-11-21T10:00:00") == datetime(2026, 11, 21, 10, tzinfo=UTC)
    external = load_settings(home=tmp_path / "home", database_url="postgresql://u@h/db")
    with pytest.raises(ValidationFailed, match="--target-url"):
        restore(external, target=tmp_path / "new")
    assert not (tmp_path / "new").exists()
