"""/v1/connections: a tenant's credentials (SPEC §3.2); secrets are write-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from app import views
from app.deps import Admin, Limit, Page, SessionDep, SettingsDep, actor
from app.services import audit
from app.services.errors import NotFound
from app.db.repo import connections as connection_rows
from app.responses import ok, ok_page
from app.services import connections as connection_service
from workflows.definition import Name

router = APIRouter(prefix="/connections", tags=["connections"])


class ConnectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(min_length=1, max_length=120)
    type: str = Field(description=f"one of {', '.join(connection_service.TYPES)}")
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, Any] = Field(default_factory=dict, description="write-only: never returned")
    default: bool = False


@router.post("", status_code=201, response_model=views.one(views.ConnectionView))
async def create_connection(request: Request, body: ConnectionCreate, principal: Admin, session: SessionDep,
                            settings: SettingsDep):
    row = await connection_service.create_connection(
        session, tenant_id=principal.tenant_id, settings=settings, name=body.name, type=body.type,
        config=body.config, secrets=body.secrets, default=body.default, actor=actor(request, principal))
    return ok(request, connection_service.connection_view(row), status_code=201)


@router.get("", response_model=views.page(views.ConnectionView))
async def list_connections(request: Request, principal: Admin, session: SessionDep,
                           page: Page = 1, limit: Limit = 20,
                           type: str | None = None):
    found = await connection_rows.page_of_connections(session, tenant_id=principal.tenant_id, page=page,
                                                      limit=limit, type=type)
    return ok_page(request, found.map(connection_service.connection_view))


@router.get("/{connection_id}", response_model=views.one(views.ConnectionView))
async def get_connection(request: Request, connection_id: str, principal: Admin, session: SessionDep):
    row = await connection_rows.get_connection(session, tenant_id=principal.tenant_id, connection_id=connection_id)
    if row is None:
        raise NotFound("connection")
    return ok(request, connection_service.connection_view(row))


@router.delete("/{connection_id}", response_model=views.one(views.Deleted))
async def delete_connection(request: Request, connection_id: str, principal: Admin, session: SessionDep):
    audit.note(session, actor(request, principal), "connection.deleted", "connection", connection_id)
    if not await connection_rows.delete_connection(session, tenant_id=principal.tenant_id, connection_id=connection_id):
        await session.rollback()  # nothing deleted: nor is the entry written
        raise NotFound("connection")
    return ok(request, {"id": connection_id, "deleted": True})
