"""Backups end to end on an embedded server of the test's own, through the real `aether` command:
full and incremental base backups, the catalogue, verification by restore, retention, off-site copies,
and logical dumps of an external database."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from aether.config import Settings
from aether.db.archive import WAL_FILE
from aether.db.embedded import EmbeddedServer
from tests.support import run_aether

pytestmark = pytest.mark.slow


def _sql(home: Path, statement: str) -> None:
    with psycopg.connect(EmbeddedServer(home).url(), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def _agents(home: Path, *names: str) -> None:
    values = ", ".join(f"('{n}', 'tda')" for n in names)
    _sql(home, f"INSERT INTO agents (name, type) VALUES {values}")


def _json(args: list[str], env: dict[str, str], *, ok: bool = True) -> object:
    result = run_aether(args, env, timeout=300)
    assert (result.returncode == 0) == ok, result.stderr + result.stdout
    return json.loads(result.stdout)


def test_full_backup_is_listed_and_verified_by_a_scratch_restore(
    embedded_home: Path, embedded_env: dict[str, str]
) -> None:
    _agents(embedded_home, "tda-1", "sca-1")
    created = _json(["backup", "create", "--full", "--json"], embedded_env)
    assert isinstance(created, dict)
    backup = created["backup"]
    assert backup["kind"] == "full" and backup["status"] == "completed" and backup["parent_id"] is None
    assert backup["row_counts"]["agents"] == 2
    data = Path(backup["location"]) / "data"
    assert (data / "backup_manifest").exists() and (data / "PG_VERSION").read_text().strip() == "18"
    archive = embedded_home / "backups" / "wal" / backup["system_identifier"]
    assert any(WAL_FILE.match(p.name) for p in archive.iterdir())

    _agents(embedded_home, "after-the-backup")  # later rows must not change what the backup restores
    listed = _json(["backup", "list", "--json"], embedded_env)
    assert isinstance(listed, list)
    assert [(b["id"], b["status"], b["on_disk"]) for b in listed] == [(backup["id"], "completed", True)]

    verified = _json(["backup", "verify", "--json"], embedded_env)
    assert isinstance(verified, dict)
    assert verified["passed"] is True, verified["problems"]
    assert verified["found"] == verified["expected"] == backup["row_counts"]
    with psycopg.connect(EmbeddedServer(embedded_home).url()) as conn:
        row = conn.execute("SELECT verify_status, verified_at IS NOT NULL FROM backups WHERE id = %s", (backup["id"],))
        assert row.fetchone() == ("passed", True)

    # a damaged file is found, and the verification fails with exit status 1
    victim = next(p for p in sorted((data / "base").rglob("*")) if p.is_file() and p.stat().st_size > 8192)
    raw = bytearray(victim.read_bytes())
    raw[100] ^= 0xFF
    victim.write_bytes(bytes(raw))
    failed = _json(["backup", "verify", backup["id"], "--json"], embedded_env, ok=False)
    assert isinstance(failed, dict)
    assert failed["passed"] is False
    assert any("checksum mismatch" in p and victim.name in p for p in failed["problems"])


def test_incremental_backups_chain_on_the_last_and_combine_at_restore(
    embedded_home: Path, embedded_env: dict[str, str]
) -> None:
    refused = run_aether(["backup", "create", "--incremental"], embedded_env)
    assert refused.returncode == 1
    assert "--incremental" in refused.stderr and "--full" in refused.stderr

    _agents(embedded_home, "a1")
    full = _json(["backup", "create", "--json"], embedded_env)  # nothing yet: auto takes a full backup
    assert isinstance(full, dict) and full["backup"]["kind"] == "full"
    _sql(embedded_home, "CREATE TABLE big AS SELECT g AS n FROM generate_series(1, 20000) g")
    _agents(embedded_home, "a2")
    first = _json(["backup", "create", "--incremental", "--json"], embedded_env)
    _agents(embedded_home, "a3")
    second = _json(["backup", "create", "--json"], embedded_env)  # a recent full exists: auto is incremental
    assert isinstance(first, dict) and isinstance(second, dict)
    assert first["backup"]["kind"] == second["backup"]["kind"] == "incremental"
    assert first["backup"]["parent_id"] == full["backup"]["id"]
    assert second["backup"]["parent_id"] == first["backup"]["id"]
    assert second["backup"]["row_counts"]["agents"] == 3
    assert second["backup"]["size_bytes"] < full["backup"]["size_bytes"]

    verified = _json(["backup", "verify", second["backup"]["id"], "--json"], embedded_env)
    assert isinstance(verified, dict)
    assert verified["passed"] is True, verified["problems"]
    assert [m["backup"] for m in verified["manifest"]] == [
        full["backup"]["id"],
        first["backup"]["id"],
        second["backup"]["id"],
    ]
    assert verified["found"]["agents"] == 3


def test_retention_removes_old_chains_and_their_wal_here_and_off_site(
    embedded_home: Path, embedded_env: dict[str, str]
) -> None:
    offsite = embedded_home.parent / "offsite"
    env = {**embedded_env, "AETHER_BACKUP_RETAIN_FULL": "1", "AETHER_BACKUP_OFFSITE_URL": str(offsite)}
    old_full = _json(["backup", "create", "--full", "--json"], env)
    old_inc = _json(["backup", "create", "--incremental", "--json"], env)
    assert isinstance(old_full, dict) and isinstance(old_inc, dict)
    old_ids = [old_full["backup"]["id"], old_inc["backup"]["id"]]
    assert all((offsite / "base" / i / "backup.json").exists() for i in old_ids)
    system_id = old_full["backup"]["system_identifier"]
    archive = embedded_home / "backups" / "wal" / system_id
    oldest_wal = min(p.name for p in archive.iterdir() if WAL_FILE.match(p.name) and not p.name.endswith("history"))

    stale_cluster = embedded_home / "backups" / "wal" / "1234567890"  # a cluster initialised before this one
    stale_cluster.mkdir()
    (stale_cluster / "000000010000000000000001").write_text("old")
    (stale_cluster / "00000002.history").write_text("kept")

    new = _json(["backup", "create", "--full", "--json"], env)
    assert isinstance(new, dict)
    assert sorted(new["retention"]["removed"]) == sorted(old_ids)
    assert [p.name for p in stale_cluster.iterdir()] == ["00000002.history"]
    assert new["retention"]["wal_removed"] > 0
    new_id, start_wal = new["backup"]["id"], new["backup"]["start_wal"]
    assert not any((embedded_home / "backups" / "base" / i).exists() for i in old_ids)
    assert (embedded_home / "backups" / "base" / new_id / "data" / "backup_manifest").exists()
    kept = sorted(p.name for p in archive.iterdir() if WAL_FILE.match(p.name))
    assert start_wal in kept and oldest_wal not in kept
    assert all(name[8:] >= start_wal[8:] for name in kept if not name.endswith(".history"))

    assert not [p for i in old_ids for p in (offsite / "base" / i).rglob("*") if p.is_file()]
    assert (offsite / "base" / new_id / "backup.json").exists()
    assert (offsite / "wal" / system_id / start_wal).exists()
    assert not (offsite / "wal" / system_id / oldest_wal).exists()

    listed = _json(["backup", "list", "--all", "--json"], env)
    assert isinstance(listed, list)
    states = {b["id"]: (b["status"], b["offsite_copied_at"] is not None) for b in listed}
    assert states[new_id] == ("completed", True)
    assert all(states[i][0] == "removed" for i in old_ids)


def test_logical_backup_of_an_external_database(
    settings: Settings, cli_env: dict[str, str], database_url: str, empty_database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO agents (name, type) VALUES ('x', 'tda'), ('y', 'sca')")
    refused = run_aether(["backup", "create", "--incremental"], cli_env)
    assert refused.returncode == 1 and "pgBackRest" in refused.stderr

    created = _json(["backup", "create", "--json"], cli_env)
    assert isinstance(created, dict)
    backup = created["backup"]
    assert backup["kind"] == "logical" and backup["row_counts"]["agents"] == 2
    assert Path(backup["location"], "aether.dump").stat().st_size > 0

    verified = _json(["backup", "verify", "--json"], cli_env)
    assert isinstance(verified, dict)
    assert verified["passed"] is True, verified["problems"]
    assert verified["found"]["agents"] == 2

    no_pitr = run_aether(
        ["backup", "restore", "--to", "2026-01-01 00:00:00+00", "--target-url", empty_database_url], cli_env
    )
    assert no_pitr.returncode == 1 and "--to" in no_pitr.stderr

    restored = _json(["backup", "restore", "--target-url", empty_database_url, "--json"], cli_env)
    assert isinstance(restored, dict) and restored["backup_id"] == backup["id"]
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM agents").fetchone() == (2,)
        assert conn.execute("SELECT backup_id FROM restore_events").fetchall() == [(backup["id"],)]
    again = run_aether(["backup", "restore", "--target-url", empty_database_url], cli_env)
    assert again.returncode == 1 and "--target-url must name an empty database" in again.stderr
