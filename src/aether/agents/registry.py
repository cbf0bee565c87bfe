"""The agents registry: every agent of the network, its validated configuration and its status.

Types: the seed's `youtube`, `telegram`, `music`, `orchestrator` and the content agents `tda`, `sca`,
`pswa`, `iga`, `vfa`, `video`. `TYPES` composes each one as an `AgentType`: the pydantic model of its
`config` (declared in the agent's package, `aether.agents.<agent>.config`) and the settings section of
`aether.config` holding its AETHER_* settings. `config` is validated against the type's model (unknown keys
are refused, so a typo never goes unnoticed); only the keys given are stored, and `effective_config()`
fills in the defaults. This module imports no handler module and no heavy dependency.

Status is `inactive`, `active` or `error` (with a reason). Workers run tasks only for agents that may run
(`may_run`: active, or not registered at all, so a fresh installation works before anyone registers
agents). A handler that fails in a way only a person can fix (revoked token, quota) calls

    from aether.agents.registry import set_error
    await set_error(ctx.db, "telegram", "401 Unauthorized: the bot token was revoked")

which records the reason (in its own transaction when given a pool) for the admin page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from pydantic import ValidationError

from aether.agents.config import AgentConfig, OrchestratorConfig
from aether.agents.iga.config import IgaConfig
from aether.agents.music.config import MusicConfig
from aether.agents.pswa.config import PswaConfig
from aether.agents.publishing.config import TelegramConfig, YoutubeConfig
from aether.agents.sca.config import ScaConfig
from aether.agents.tda.config import TdaConfig
from aether.agents.vfa.config import VfaConfig
from aether.agents.video.config import VideoConfig
from aether.config import (
    ImagesSettings,
    MusicSettings,
    PswaSettings,
    PublishingSettings,
    ScaSettings,
    Section,
    TdaSettings,
    VideoSettings,
    VoiceSettings,
)
from aether.db import AsyncConnection, Database, load_queries
from aether.errors import Conflict, NotFound, ValidationFailed

Q = load_queries(__file__, "registry.sql")
log = logging.getLogger(__name__)

STATUSES = ("inactive", "active", "error")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")
REASON_MAX = 2000


# ---- the types: each one's config model and settings section -------------------------------------


@dataclass(frozen=True)
class AgentType:
    """A type of agent: the model its `config` is validated against and the settings section holding its
    AETHER_* settings (None where it has none)."""

    name: str
    config: type[AgentConfig]
    settings: type[Section] | None

    def validate(self, config: Any) -> dict[str, Any]:
        """The config as stored: validated against the model, only the keys given (normalised)."""
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise ValidationFailed(f"config must be a JSON object (got {type(config).__name__})", field="config")
        try:
            parsed = self.config.model_validate(config)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"] if not _union_tag(part))
            message = str(first["msg"]).removeprefix("Value error, ")
            if first["type"] == "extra_forbidden":
                allowed = ", ".join(self.config.model_fields)
                message = f"is not a setting of a {self.name} agent (settings: {allowed})"
            raise ValidationFailed(f"config.{where}: {message}", field=f"config.{where}") from None
        dumped: dict[str, Any] = parsed.model_dump(mode="json", exclude_unset=True)
        return dumped

    def schema(self) -> dict[str, Any]:
        """The JSON schema of the config (for the admin page and API clients)."""
        return self.config.model_json_schema()

    def variables(self) -> tuple[str, ...]:
        """The AETHER_* settings of this type (its settings section's)."""
        return () if self.settings is None else self.settings.variables()


TYPES: dict[str, AgentType] = {
    kind.name: kind
    for kind in (
        AgentType("youtube", YoutubeConfig, PublishingSettings),
        AgentType("telegram", TelegramConfig, PublishingSettings),
        AgentType("music", MusicConfig, MusicSettings),
        AgentType("orchestrator", OrchestratorConfig, None),
        AgentType("tda", TdaConfig, TdaSettings),
        AgentType("sca", ScaConfig, ScaSettings),
        AgentType("pswa", PswaConfig, PswaSettings),
        AgentType("iga", IgaConfig, ImagesSettings),
        AgentType("vfa", VfaConfig, VoiceSettings),
        AgentType("video", VideoConfig, VideoSettings),
    )
}
AGENT_TYPES = tuple(TYPES)


def get_type(agent_type: str) -> AgentType:
    kind = TYPES.get(agent_type)
    if kind is None:
        raise ValidationFailed(f"type must be one of {', '.join(AGENT_TYPES)} (got {agent_type!r})", field="type")
    return kind


def check_type(agent_type: str) -> str:
    return get_type(agent_type).name


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name or ""):
        raise ValidationFailed(
            f"name must start with a lower-case letter and hold up to 100 lower-case letters, digits, '_' or "
            f"'-' (got {name!r})",
            field="name",
        )
    return name


def check_status(status: str, reason: str | None) -> tuple[str, str | None]:
    if status not in STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(STATUSES)} (got {status!r})", field="status")
    reason = (reason or "").strip() or None
    if status == "error" and reason is None:
        raise ValidationFailed("an agent in status error needs a reason", field="reason")
    if reason is not None and len(reason) > REASON_MAX:
        reason = reason[: REASON_MAX - 1] + "…"
    if status == "active":
        reason = None
    return status, reason


def validate_config(agent_type: str, config: Any) -> dict[str, Any]:
    """The config as stored: validated against the type's model, only the keys given (normalised)."""
    return get_type(agent_type).validate(config)


def _union_tag(part: str | int) -> bool:
    """pydantic adds the member type to the error location of a union (`chat_ids.0.int`)."""
    return isinstance(part, str) and (part in {"int", "str", "float", "bool", "url"} or "[" in part)


def config_schema(agent_type: str) -> dict[str, Any]:
    """The JSON schema of a type's config (for the admin page and API clients)."""
    return get_type(agent_type).schema()


# ---- the registry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Agent:
    id: int
    name: str
    type: str
    status: str
    status_reason: str | None
    status_changed_at: datetime | None
    config: dict[str, Any]
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Agent:
        return cls(
            id=row["id"],
            name=row["name"],
            type=row["type"],
            status=row["status"] or "inactive",
            status_reason=row["status_reason"],
            status_changed_at=row["status_changed_at"],
            config=dict(row["config"] or {}),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    @property
    def agent_type(self) -> AgentType:
        kind = TYPES.get(self.type)
        if kind is None:
            raise ValidationFailed(f"agent {self.name} has the unknown type {self.type!r}", field="type")
        return kind

    def effective_config(self) -> AgentConfig:
        """The config with every default filled in (the typed model of this agent's type)."""
        return self.agent_type.config.model_validate(self.config)

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.replace(tzinfo=UTC).isoformat()

        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "status_reason": self.status_reason,
            "status_changed_at": iso(self.status_changed_at),
            "config": self.config,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


async def create_agent(
    conn: AsyncConnection,
    *,
    name: str,
    type: str,
    config: dict[str, Any] | None = None,
    status: str = "inactive",
    reason: str | None = None,
) -> Agent:
    check_name(name)
    stored = validate_config(type, config)
    status, reason = check_status(status, reason)
    row = await (
        await conn.execute(Q.insert_agent, {"name": name, "type": type, "status": status, "config": Jsonb(stored)})
    ).fetchone()
    if row is None:
        raise Conflict(f"an agent named {name!r} already exists", field="name")
    if reason is not None:
        return await set_status(conn, name, status, reason)
    return Agent.from_row(row)


async def list_agents(conn: AsyncConnection, *, type: str | None = None, status: str | None = None) -> list[Agent]:
    if type is not None:
        check_type(type)
    if status is not None:
        check_status(status, "filter")
    rows = await (await conn.execute(Q.list_agents, {"type": type, "status": status})).fetchall()
    return [Agent.from_row(r) for r in rows]


async def get_agent(conn: AsyncConnection, name: str) -> Agent:
    row = await (await conn.execute(Q.agent_by_name, {"name": name})).fetchone()
    if row is None:
        raise NotFound(f"no agent named {name!r}", field="name")
    return Agent.from_row(row)


async def get_agent_by_id(conn: AsyncConnection, agent_id: int) -> Agent:
    row = await (await conn.execute(Q.agent_by_id, {"id": agent_id})).fetchone()
    if row is None:
        raise NotFound(f"no agent with id {agent_id}", field="id")
    return Agent.from_row(row)


async def update_agent(
    conn: AsyncConnection,
    name: str,
    *,
    new_name: str | None = None,
    config: dict[str, Any] | None = None,
    merge_config: bool = False,
    status: str | None = None,
    reason: str | None = None,
) -> Agent:
    """Change an agent's name, config (replaced, or merged key by key with `merge_config`) and status."""
    row = await (await conn.execute(Q.agent_by_name_for_update, {"name": name})).fetchone()
    if row is None:
        raise NotFound(f"no agent named {name!r}", field="name")
    agent = Agent.from_row(row)
    if new_name is not None:
        check_name(new_name)
    stored = agent.config
    if config is not None:
        stored = validate_config(agent.type, {**agent.config, **config} if merge_config else config)
    if status is None:
        status, reason = agent.status, (reason if reason is not None else agent.status_reason)
    status, reason = check_status(status, reason)
    params = {
        "id": agent.id,
        "name": new_name or agent.name,
        "config": Jsonb(stored),
        "status": status,
        "reason": reason,
    }
    try:
        async with conn.transaction():
            updated = await (await conn.execute(Q.update_agent, params)).fetchone()
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"an agent named {new_name!r} already exists", field="name") from None
    assert updated is not None
    return Agent.from_row(updated)


async def set_status(conn: AsyncConnection, name: str, status: str, reason: str | None = None) -> Agent:
    status, reason = check_status(status, reason)
    row = await (await conn.execute(Q.set_status, {"name": name, "status": status, "reason": reason})).fetchone()
    if row is None:
        raise NotFound(f"no agent named {name!r}", field="name")
    return Agent.from_row(row)


async def enable(conn: AsyncConnection, name: str) -> Agent:
    agent = await get_agent(conn, name)
    validate_config(agent.type, agent.config)  # an agent never runs on a config that no longer validates
    return await set_status(conn, name, "active")


async def disable(conn: AsyncConnection, name: str, reason: str | None = None) -> Agent:
    return await set_status(conn, name, "inactive", reason)


async def delete_agent(conn: AsyncConnection, name: str) -> None:
    """Delete an agent that nothing refers to; otherwise a Conflict that says what refers to it."""
    agent = await get_agent(conn, name)
    refs = await (await conn.execute(Q.agent_references, {"id": agent.id})).fetchone()
    held = {k: int(v) for k, v in (refs or {}).items() if v}
    if held:
        what = ", ".join(f"{n} {k}" for k, n in held.items())
        raise Conflict(f"agent {name!r} is still referred to by {what}; disable it instead", field="name")
    await conn.execute(Q.delete_agent, {"name": name})


async def set_error(target: Database | AsyncConnection, agent: str, reason: str) -> None:
    """Mark `agent` as needing a person, with the reason. Given a pool, it commits in a transaction of its
    own (the failing task's transaction may roll back). An agent not registered yet whose name is an
    agent type is registered in `error`; any other unknown name is logged, never raised."""
    if isinstance(target, Database):
        async with target.transaction(actor=f"agent:{agent}") as conn:
            await _set_error(conn, agent, reason)
    else:
        await _set_error(target, agent, reason)
    log.error("agent %s needs attention: %s", agent, reason)


async def _set_error(conn: AsyncConnection, agent: str, reason: str) -> None:
    status, why = check_status("error", reason or "unspecified error")
    row = await (await conn.execute(Q.set_status, {"name": agent, "status": status, "reason": why})).fetchone()
    if row is not None:
        return
    if agent in TYPES:
        await conn.execute(Q.insert_agent, {"name": agent, "type": agent, "status": status, "config": Jsonb({})})
        await conn.execute(Q.set_status, {"name": agent, "status": status, "reason": why})
        return
    log.warning("set_error: no agent named %s to mark (%s)", agent, why)


async def stopped_agents(conn: AsyncConnection) -> dict[str, tuple[str, str | None]]:
    """Registered agents that must not run (inactive or error), with status and reason."""
    rows = await (await conn.execute(Q.stopped_agents)).fetchall()
    return {r["name"]: (r["status"] or "inactive", r["status_reason"]) for r in rows}


async def may_run(conn: AsyncConnection, agent: str) -> bool:
    """True when the agent is active, or not registered at all (workers may run its tasks)."""
    row = await (await conn.execute(Q.agent_by_name, {"name": agent})).fetchone()
    return row is None or row["status"] == "active"


async def ensure_agents(conn: AsyncConnection, types: tuple[str, ...] = AGENT_TYPES) -> list[Agent]:
    """Register one active agent per type (named after it) where none of that name exists; returns
    those it created."""
    created = []
    for agent_type in types:
        row = await (
            await conn.execute(
                Q.insert_agent,
                {"name": agent_type, "type": check_type(agent_type), "status": "active", "config": Jsonb({})},
            )
        ).fetchone()
        if row is not None:
            created.append(Agent.from_row(row))
    return created
