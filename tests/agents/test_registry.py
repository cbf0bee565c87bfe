"""The agents registry: CRUD, config validated per type with errors naming the field, status with a reason,
set_error for handlers, and what workers may run."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from aether.agents import registry
from aether.agents.config import AgentConfig
from aether.agents.publishing.config import YoutubeConfig
from aether.config import SECTIONS, PswaSettings, Settings
from aether.db.pool import Database
from aether.errors import Conflict, NotFound, ValidationFailed
from aether.security import credentials


async def test_create_list_show_update_and_delete(adb: Database) -> None:
    async with adb.transaction(actor="user:1") as conn:
        created = await registry.create_agent(
            conn, name="yt-main", type="youtube", config={"privacy_status": "unlisted", "default_tags": ["news"]}
        )
        await registry.create_agent(conn, name="bot", type="telegram", config={"chat_ids": ["@aether_news", -1001]})
    assert created.status == "inactive" and created.config == {"privacy_status": "unlisted", "default_tags": ["news"]}
    effective = created.effective_config()
    assert isinstance(effective, YoutubeConfig) and effective.category_id == "22"

    async with adb.transaction(actor="user:1") as conn:
        assert [a.name for a in await registry.list_agents(conn)] == ["bot", "yt-main"]
        assert [a.name for a in await registry.list_agents(conn, type="telegram")] == ["bot"]
        updated = await registry.update_agent(conn, "yt-main", config={"made_for_kids": True}, merge_config=True)
        assert updated.config == {"privacy_status": "unlisted", "default_tags": ["news"], "made_for_kids": True}
        replaced = await registry.update_agent(conn, "yt-main", new_name="yt", config={"channel_id": "UC123"})
        assert replaced.name == "yt" and replaced.config == {"channel_id": "UC123"}
        assert (await registry.get_agent_by_id(conn, created.id)).name == "yt"
        await registry.delete_agent(conn, "bot")
        with pytest.raises(NotFound):
            await registry.get_agent(conn, "bot")
    data = replaced.to_dict()
    assert data["name"] == "yt" and data["status"] == "inactive" and data["updated_at"].endswith("+00:00")
    audit = await adb.fetch_all("SELECT action FROM audit_log WHERE table_name = 'agents' ORDER BY id")
    assert [r["action"] for r in audit] == ["insert", "insert", "update", "update", "delete"]


@pytest.mark.parametrize(
    ("type_", "config", "field", "words"),
    [
        ("youtube", {"privacy_status": "secret"}, "config.privacy_status", "private"),
        ("youtube", {"privacy": "public"}, "config.privacy", "not a setting of a youtube agent"),
        ("telegram", {"chat_ids": ["no spaces allowed"]}, "config.chat_ids", "not a chat id"),
        ("telegram", {"chat_ids": [1.5]}, "config.chat_ids.0", ""),
        ("tda", {"feeds": ["ftp://example.org/feed"]}, "config.feeds.0", "URL"),
        ("vfa", {"loudness_lufs": -3}, "config.loudness_lufs", "-10"),
        ("vfa", {"formats": ["mp3", "mp3"]}, "config.formats", "repeat"),
        ("pswa", {"hosts": []}, "config.hosts", ""),
        ("video", {"fps": "fast"}, "config.fps", "integer"),
    ],
)
async def test_bad_config_names_the_field_and_changes_nothing(
    adb: Database, type_: str, config: dict[str, object], field: str, words: str
) -> None:
    async with adb.transaction() as conn:
        with pytest.raises(ValidationFailed) as err:
            await registry.create_agent(conn, name="a", type=type_, config=config)
    assert err.value.field == field and words in err.value.message
    assert await adb.fetch_one("SELECT count(*) AS n FROM agents") == {"n": 0}


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"name": "Bad Name", "type": "tda"}, "name"),
        ({"name": "", "type": "tda"}, "name"),
        ({"name": "ok", "type": "mailman"}, "type"),
        ({"name": "ok", "type": "tda", "status": "paused"}, "status"),
        ({"name": "ok", "type": "tda", "status": "error"}, "reason"),
        ({"name": "ok", "type": "tda", "config": ["not", "an", "object"]}, "config"),
    ],
)
async def test_bad_input_names_the_field(adb: Database, kw: dict[str, object], field: str) -> None:
    async with adb.transaction() as conn:
        with pytest.raises(ValidationFailed) as err:
            await registry.create_agent(conn, **kw)  # type: ignore[arg-type]
    assert err.value.field == field


async def test_names_are_unique(adb: Database) -> None:
    async with adb.transaction() as conn:
        await registry.create_agent(conn, name="a", type="tda")
        await registry.create_agent(conn, name="b", type="sca")
        with pytest.raises(Conflict):
            await registry.create_agent(conn, name="a", type="sca")
        with pytest.raises(Conflict) as err:
            await registry.update_agent(conn, "b", new_name="a")
        assert err.value.field == "name"
        assert (await registry.get_agent(conn, "b")).type == "sca"


async def test_status_transitions_and_set_error(adb: Database) -> None:
    async with adb.transaction() as conn:
        await registry.create_agent(conn, name="telegram", type="telegram")
        active = await registry.enable(conn, "telegram")
        assert active.status == "active" and active.status_reason is None
        assert await registry.may_run(conn, "telegram")
    await registry.set_error(adb, "telegram", "401 Unauthorized: the bot token was revoked")
    async with adb.transaction() as conn:
        agent = await registry.get_agent(conn, "telegram")
        assert agent.status == "error" and agent.status_reason == "401 Unauthorized: the bot token was revoked"
        assert agent.status_changed_at is not None
        assert not await registry.may_run(conn, "telegram")
        assert await registry.stopped_agents(conn) == {
            "telegram": ("error", "401 Unauthorized: the bot token was revoked")
        }
        disabled = await registry.disable(conn, "telegram", "maintenance window")
        assert disabled.status == "inactive" and disabled.status_reason == "maintenance window"
        assert (await registry.enable(conn, "telegram")).status_reason is None
    row = await adb.fetch_one(
        "SELECT actor FROM audit_log WHERE table_name = 'agents' AND changes->'status_reason'->>'new' LIKE '401%%'"
    )
    assert row == {"actor": "agent:telegram"}


async def test_set_error_inside_a_transaction_and_for_unregistered_agents(adb: Database) -> None:
    async with adb.transaction(actor="agent:youtube") as conn:
        await registry.set_error(conn, "youtube", "quotaExceeded: daily upload quota used up")
        await registry.set_error(conn, "not-a-type", "ignored")  # logged, never raised
    async with adb.connection() as conn:
        agent = await registry.get_agent(conn, "youtube")
        assert agent.type == "youtube" and agent.status == "error" and "quota" in (agent.status_reason or "")
        assert [a.name for a in await registry.list_agents(conn)] == ["youtube"]
        # unregistered agents may run (a fresh installation), registered inactive ones may not
        assert await registry.may_run(conn, "tda")


async def test_an_agent_with_credentials_cannot_be_deleted(adb: Database, settings: Settings) -> None:
    async with adb.transaction() as conn:
        await registry.create_agent(conn, name="writer", type="pswa")
        await credentials.add_credential(
            conn, settings, agent="writer", platform="openai", key="api_key", value="sk-1234567890"
        )
        with pytest.raises(Conflict, match="1 credentials"):
            await registry.delete_agent(conn, "writer")
        with pytest.raises(NotFound):
            await registry.delete_agent(conn, "nobody")


async def test_ensure_agents_registers_one_active_agent_per_type(adb: Database) -> None:
    async with adb.transaction() as conn:
        await registry.create_agent(conn, name="tda", type="tda")  # exists: kept as it is
        created = await registry.ensure_agents(conn)
        assert sorted(a.name for a in created) == sorted(t for t in registry.AGENT_TYPES if t != "tda")
        assert await registry.ensure_agents(conn) == []
        assert (await registry.get_agent(conn, "tda")).status == "inactive"
        assert all(a.status == "active" for a in created)


def test_every_type_has_a_schema() -> None:
    for agent_type in registry.AGENT_TYPES:
        schema = registry.config_schema(agent_type)
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        registry.TYPES[agent_type].config.model_validate({})  # every setting has a default


def test_every_type_names_its_settings_section() -> None:
    assert list(registry.TYPES) == list(registry.AGENT_TYPES)
    for name, kind in registry.TYPES.items():
        assert kind.name == name and issubclass(kind.config, AgentConfig)
        assert kind.settings is None or kind.settings in SECTIONS, name
        assert set(kind.variables()) <= {f"AETHER_{field.upper()}" for field in Settings.model_fields}, name
    assert registry.TYPES["pswa"].settings is PswaSettings
    assert "AETHER_SCRIPT_WRITER" in registry.TYPES["pswa"].variables()
    assert registry.TYPES["orchestrator"].variables() == ()


AGENTS = Path(registry.__file__).parent


@pytest.mark.parametrize("module", sorted(AGENTS.glob("*/config.py")), ids=lambda path: path.parent.name)
def test_config_models_are_leaf_modules(module: Path) -> None:
    tree = ast.parse(module.read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {name for name in imported if name.startswith("aether")} <= {"aether.agents.config"}


def test_the_registry_is_light_to_import() -> None:
    code = "import sys, aether.agents.registry; print(' '.join(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(run.stdout.split())
    handlers = {m for m in loaded if m.startswith("aether.agents.") and m.count(".") == 3 and not m.endswith(".config")}
    assert handlers == set()
    assert {"numpy", "PIL", "feedparser", "trafilatura", "piper", "fastapi", "httpx"} & loaded == set()
