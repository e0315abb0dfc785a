"""/v1/tenants: the tenants of a host product, managed with a platform key (SPEC §3.3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from app import views
from app.db.repo import tenants as tenant_rows
from app.deps import Limit, Page, Platform, SessionDep, SettingsDep, TemporalDep, actor
from app.embedding_views import TenantDeleted, TenantView
from app.responses import ok, ok_page
from app.services import tenants as tenant_service
from workflows.definition import Name

router = APIRouter(prefix="/tenants", tags=["tenants"])
ExternalId = Annotated[Name, Field(min_length=1, max_length=200, description="the host product's id of the tenant")]
Limit_ = Annotated[StrictInt | None, Field(ge=0, le=2**31 - 1, description="a limit, or null: unlimited")]


class Quotas(BaseModel):
    """The quotas named are set (null: unlimited); the others keep theirs (RELAY_TENANT_QUOTAS by default)."""

    model_config = ConfigDict(extra="forbid")

    max_running_instances: Limit_ = None
    max_runs_per_day: Limit_ = None
    max_workflows: Limit_ = None

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(min_length=1, max_length=120)
    external_id: ExternalId | None = None
    quotas: Quotas | None = None


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = Field(default=None, min_length=1, max_length=120)
    quotas: Quotas | None = None
    disabled: StrictBool | None = None


@router.post("", status_code=201, response_model=views.one(TenantView))
async def create_tenant(request: Request, body: TenantCreate, principal: Platform, session: SessionDep):
    row = await tenant_service.create_tenant(session, name=body.name, external_id=body.external_id,
                                             quotas=body.quotas.given() if body.quotas else None)
    return ok(request, tenant_service.tenant_view(row), status_code=201)


ExternalIdFilter = Annotated[str | None, Query(max_length=200, description="empty: no filter")]


@router.get("", response_model=views.page(TenantView))
async def list_tenants(request: Request, principal: Platform, session: SessionDep, page: Page = 1,
                       limit: Limit = 20, external_id: ExternalIdFilter = None):
    found = await tenant_rows.page_of_tenants(session, page=page, limit=limit, external_id=external_id or None)
    return ok_page(request, found.map(tenant_service.tenant_view))


@router.get("/{tenant_id}", response_model=views.one(TenantView))
async def get_tenant(request: Request, tenant_id: str, principal: Platform, session: SessionDep):
    return ok(request, tenant_service.tenant_view(await tenant_service.get_tenant(session, tenant_id=tenant_id)))


@router.patch("/{tenant_id}", response_model=views.one(TenantView))
async def update_tenant(request: Request, tenant_id: str, body: TenantUpdate, principal: Platform,
                        session: SessionDep):
    """`name`, `quotas` (the quotas named change; the others keep theirs), `disabled` (a disabled
    tenant's keys and sessions answer 401 and its triggers start nothing)."""
    changes = {field: getattr(body, field) for field in body.model_fields_set if getattr(body, field) is not None}
    if body.quotas is not None:
        changes["quotas"] = body.quotas.given()
    row = await tenant_service.update_tenant(session, tenant_id=tenant_id, changes=changes,
                                             actor=actor(request, principal))
    return ok(request, tenant_service.tenant_view(row))


@router.delete("/{tenant_id}", status_code=202, response_model=views.one(TenantDeleted))
async def delete_tenant(request: Request, tenant_id: str, principal: Platform, session: SessionDep,
                        temporal: TemporalDep, settings: SettingsDep):
    """Cancels the tenant's running instances and deletes its schedules, workflows, connections,
    keys and sessions, then the tenant."""
    result = await tenant_service.delete_tenant(session, temporal, settings, tenant_id=tenant_id)
    return ok(request, result, status_code=202)
