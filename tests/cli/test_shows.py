"""`aether shows ...` as a user runs it: the show bible changed from the command line, by the API's rules."""

from __future__ import annotations

import json
import uuid

from aether.db.pool import Database
from tests.support import run_aether


async def test_the_bible_from_the_command_line(cli_env: dict[str, str], db: Database) -> None:
    user = await db.fetch_one("INSERT INTO users (email, password_hash) VALUES ('o@example.org', 'x') RETURNING id")
    assert user is not None
    await db.execute(
        "INSERT INTO shows (user_id, slug, guid, title, hosts) VALUES (%s, 'harbor-notes', %s, 'Harbor Notes', %s)",
        (user["id"], uuid.uuid4(), json.dumps(["Ada", "Bo"])),
    )
    shown = run_aether(["shows", "show", "harbor-notes", "--json"], cli_env)
    assert shown.returncode == 0, shown.stderr
    assert [h["name"] for h in json.loads(shown.stdout)["hosts"]] == ["Ada", "Bo"]

    hosts = [{"name": "Ada", "persona": "asks the questions", "voice": {"pitch": 1.1}}, "Bo"]
    changed = run_aether(
        ["shows", "set", "harbor-notes", "--hosts", json.dumps(hosts), "--pronounce", "Lindqvist=Lind-kvist",
         "--intro", "Welcome aboard Harbor Notes.", "--review", "--no-music", "--loudness", "-18", "--json"],
        cli_env,
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    show = json.loads(changed.stdout)
    assert show["hosts"][0]["persona"] == "asks the questions" and show["hosts"][0]["voice"]["pitch"] == 1.1
    assert show["hosts"][1] == {"name": "Bo", "persona": "", "voice": None}
    assert show["pronunciations"] == [{"text": "Lindqvist", "say": "Lind-kvist"}]
    assert show["intro"] == "Welcome aboard Harbor Notes." and show["review"] and not show["music"]
    assert show["loudness_lufs"] == -18

    before = await db.fetch_one("SELECT hosts, pronunciations, loudness_lufs FROM shows")
    for args, field in (
        (["--loudness", "-3"], "loudness_lufs"),
        (["--hosts", '[{"name": "Ada", "voice": {"pitch": 9}}]'], "hosts[0].voice.pitch"),
        (["--hosts", '["Ada", "ada"]'], "hosts"),
        (["--pronounce", "no-equals-sign"], "--pronounce"),
        (["--hosts", "not json"], "hosts"),
    ):
        refused = run_aether(["shows", "set", "harbor-notes", *args], cli_env)
        assert refused.returncode == 1 and field in refused.stderr, (args, refused.stderr)
        assert "Traceback" not in refused.stderr
    assert await db.fetch_one("SELECT hosts, pronunciations, loudness_lufs FROM shows") == before

    dropped = run_aether(["shows", "set", "harbor-notes", "--unpronounce", "Lindqvist", "--json"], cli_env)
    assert json.loads(dropped.stdout)["pronunciations"] == []
    missing = run_aether(["shows", "show", "no-such-show"], cli_env)
    assert missing.returncode == 1 and "no show 'no-such-show'" in missing.stderr
