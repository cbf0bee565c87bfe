"""Admin API: agents, credentials (masked; values go in, never out) and the audit log. Admins only.

Every change runs in a transaction whose actor is `user:<id>` of the admin and whose client address is
the caller's, so the audit log records who did it and from where. The gateway includes `router`
(aether.gateway.app.ROUTERS).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aether.agents import registry
from aether.db.pagination import decode_cursor, encode_cursor
from aether.errors import ValidationFailed
from aether.gateway.deps import DB, AdminUser, AppSettings, client_ip
from aether.security import audit, credentials, keys, rotation
from aether.security.sessions import Session

router = APIRouter(tags=["admin"])


def _actor(user: Session) -> str:
    return f"user:{user.user_id}"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentIn(_Body):
    name: str = Field(min_length=1, max_length=100)
    type: str = Field(min_length=1, max_length=50)
    config: dict[str, Any] = Field(default_factory=dict)
    status: str = "inactive"
    reason: str | None = Field(None, max_length=2000)


class AgentPatch(_Body):
    name: str | None = Field(None, min_length=1, max_length=100)
    config: dict[str, Any] | None = None
    merge_config: bool = False
    status: str | None = None
    reason: str | None = Field(None, max_length=2000)


class CredentialIn(_Body):
    agent: str | None = Field(None, max_length=100)
    platform: str = Field(min_length=1, max_length=50)
    key: str = Field(min_length=1, max_length=100)
    value: SecretStr
    expires_at: datetime | None = None
    replace: bool = False


class Reason(_Body):
    reason: str | None = Field(None, max_length=2000)


# ---- agents -------------------------------------------------------------------------------------


@router.get("/v1/agents", summary="Agents, by name (admin)")
async def list_agents(
    user: AdminUser,
    db: DB,
    type: str | None = Query(None, max_length=50),
    status: str | None = Query(None, max_length=20),
) -> dict[str, Any]:
    async with db.connection() as conn:
        agents = await registry.list_agents(conn, type=type, status=status)
    return {"items": [a.to_dict() for a in agents]}


@router.get("/v1/agent-types", summary="Agent types and the JSON schema of each one's config (admin)")
async def agent_types(user: AdminUser) -> dict[str, Any]:
    return {"types": {t: registry.config_schema(t) for t in registry.AGENT_TYPES}}


@router.post("/v1/agents", status_code=201, summary="Register an agent (admin)")
async def create_agent(body: AgentIn, user: AdminUser, db: DB, request: Request) -> dict[str, Any]:
    async with db.transaction(actor=_actor(user)) as conn:
        await audit.set_audit_context(conn, client_addr=client_ip(request))
        agent = await registry.create_agent(
            conn, name=body.name, type=body.type, config=body.config, status=body.status, reason=body.reason
        )
    return {"agent": agent.to_dict()}


@router.get("/v1/agents/{name}", summary="One agent with its effective config (admin)")
async def get_agent(name: str, user: AdminUser, db: DB) -> dict[str, Any]:
    async with db.connection() as conn:
        agent = await registry.get_agent(conn, name)
    data = agent.to_dict()
    data["effective_config"] = agent.effective_config().model_dump(mode="json")
    return {"agent": data}


@router.patch("/v1/agents/{name}", summary="Rename, reconfigure or change the status of an agent (admin)")
async def patch_agent(name: str, body: AgentPatch, user: AdminUser, db: DB, request: Request) -> dict[str, Any]:
    async with db.transaction(actor=_actor(user)) as conn:
        await audit.set_audit_context(conn, client_addr=client_ip(request))
        agent = await registry.update_agent(
            conn,
            name,
            new_name=body.name,
            config=body.config,
            merge_config=body.merge_config,
            status=body.status,
            reason=body.reason,
        )
    return {"agent": agent.to_dict()}


@router.post("/v1/agents/{name}/enable", summary="Set an agent active (admin)")
async def enable_agent(name: str, user: AdminUser, db: DB, request: Request) -> dict[str, Any]:
    async with db.transaction(actor=_actor(user)) as conn:
        await audit.set_audit_context(conn, client_addr=client_ip(request))
        agent = await registry.enable(conn, name)
    return {"agent": agent.to_dict()}


@router.post("/v1/agents/{name}/disable", summary="Set an agent inactive (admin)")
async def disable_agent(
    name: str, user: AdminUser, db: DB, request: Request, body: Reason | None = None
) -> dict[str, Any]:
    async with db.transaction(actor=_actor(user)) as conn:
        await audit.set_audit_context(conn, client_addr=client_ip(request))
        agent = await registry.disable(conn, name, body.reason if body else None)
    return {"agent": agent.to_dict()}


@router.delete("/v1/agents/{name}", status_code=204, summary="Delete an agent nothing refers to (admin)")
async def delete_agent(name: str, user: AdminUser, db: DB, request: Request) -> Response:
    async with db.transaction(actor=_actor(user)) as conn:
        await audit.set_audit_context(conn, client_addr=client_ip(request))
        await registry.delete_agent(conn, name)
    return Response(status_code=204)


# ---- credentials --------------------------------------------------------------------------------


@router.get("/v1/credentials", summary="Credentials with masked values (admin)")
async def list_credentials(
    user: AdminUser,
    db: DB,
    settings: AppSettings,
    agent: str | None = Query(None, max_length=100),
    platform: str | None = Query(None, max_length=50),
) -> dict[str, Any]:
    async with db.connection() as conn:
        found = await credentials.list_credentials(conn, settings, agent=agent, platform=platform)
    return {"items": [c.to_dict() for c in found]}


@router.post("/v1/credentials", status_code=201, summary="Store a credential, encrypted (admin)")
async def add_credential(
    body: CredentialIn, user: AdminUser, db: DB, settings: AppSettings, request: Request
) -> dict[str, Any]:
    async with db.transaction(actor=_actor(user)) as conn:
        await audit.set_audit_context(conn, client_addr=client_ip(request))
        cred = await credentials.add_credential(
            conn,
            settings,
            agent=body.agent,
            platform=body.platform,
            key=body.key,
            value=body.value.get_secret_value(),
            expires_at=body.expires_at,
            replace=body.replace,
        )
    return {"credential": cred.to_dict()}


@router.get("/v1/credentials/keys", summary="The key ring, checked against the master key (admin)")
async def key_ring(user: AdminUser, db: DB, settings: AppSettings) -> dict[str, Any]:
    async with db.connection() as conn:
        await keys.key_ring(settings).verify(conn)
        listed = await keys.list_keys(conn)
    return {
        "data_keys": [
            {
                "key_id": k.key_id,
                "version": k.version,
                "status": k.status,
                "master_key_id": k.master_key_id,
                "credentials": n,
                "created_at": k.created_at.isoformat() if k.created_at else None,
                "retired_at": k.retired_at.isoformat() if k.retired_at else None,
            }
            for k, n in listed
        ]
    }


@router.post("/v1/credentials/rotate-key", summary="Re-seal every credential under a new data key (admin)")
async def rotate_key(user: AdminUser, db: DB, settings: AppSettings) -> dict[str, Any]:
    report = await rotation.rotate(db, settings, actor=_actor(user))
    return {"new_key_id": report.new_key_id, "resealed": report.resealed, "retired": report.retired or []}


@router.get("/v1/credentials/{credential_id:int}", summary="One credential, masked (admin)")
async def get_credential(credential_id: int, user: AdminUser, db: DB, settings: AppSettings) -> dict[str, Any]:
    async with db.connection() as conn:
        cred = await credentials.get_credential(conn, settings, credential_id)
    return {"credential": cred.to_dict()}


@router.delete("/v1/credentials/{credential_id:int}", status_code=204, summary="Remove a credential (admin)")
async def remove_credential(credential_id: int, user: AdminUser, db: DB, request: Request) -> Response:
    async with db.transaction(actor=_actor(user)) as conn:
        await audit.set_audit_context(conn, client_addr=client_ip(request))
        await credentials.remove_credential(conn, credential_id)
    return Response(status_code=204)


# ---- audit --------------------------------------------------------------------------------------


@router.get("/v1/audit", summary="Audit entries, newest first, with filters (admin)")
async def list_audit(
    user: AdminUser,
    db: DB,
    table: str | None = Query(None, max_length=128),
    actor: str | None = Query(None, max_length=200, description="Exact, or a prefix ending in * (user:*)."),
    action: str | None = Query(None, max_length=10),
    row_id: str | None = Query(None, max_length=500),
    since: str | None = Query(None, max_length=64, description="30m, 12h, 7d, 2w ago, or an ISO time."),
    until: str | None = Query(None, max_length=64),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, max_length=200),
) -> dict[str, Any]:
    before = decode_cursor(cursor, ("id",))[0] if cursor else None
    if before is not None and not isinstance(before, int):
        raise ValidationFailed("cursor is not a cursor this API returned", field="cursor")
    flt = audit.AuditFilter(
        table=table,
        actor=actor,
        action=action,
        row_id=row_id,
        since=audit.parse_time(since, field="since"),
        until=audit.parse_time(until, field="until"),
        before_id=before,
        limit=limit + 1,
    )
    async with db.connection(readonly=True) as conn:
        entries = await audit.search(conn, flt)
    next_cursor = encode_cursor((entries[limit - 1].id,)) if len(entries) > limit else None
    return {"items": [e.to_dict() for e in entries[:limit]], "next_cursor": next_cursor}


@router.get("/v1/audit/{entry_id}", summary="One audit entry (admin)")
async def get_audit_entry(entry_id: int, user: AdminUser, db: DB) -> dict[str, Any]:
    async with db.connection(readonly=True) as conn:
        entry = await audit.get_entry(conn, entry_id)
    return {"entry": entry.to_dict()}
