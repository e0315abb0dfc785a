"""Session tokens (SPEC §3.3): minted by a platform key for a tenant, or by a tenant's admin key (or
a platform key acting for the tenant); revoked by either. The token is shown once, at creation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from app import views
from app.acting import act_as, named_tenant
from app.db.repo import sessions as session_rows
from app.deps import Admin, Caller, Platform, SessionDep, actor
from app.embedding_views import SessionCreated
from app.errors import ApiError
from app.responses import ok
from app.services import audit
from app.services import sessions as session_service
from app.services.errors import NotFound
from app.services.tenants import get_tenant
from workflows.definition import Name

router = APIRouter(tags=["sessions"])


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[str] = Field(min_length=1, description=f"any of {', '.join(session_service.SESSION_SCOPES)}")
    ttl: Annotated[str, Field(max_length=40)] | Annotated[StrictInt, Field(ge=1, le=86400)] | None = Field(
        default=None, description="how long the token lives: a duration (\"15m\", \"1h\") up to 24h; default 1h")
    subject: Name | None = Field(default=None, max_length=200, description="who uses it, e.g. the host's user id")

    @field_validator("ttl", mode="wrap")
    @classmethod
    def _named_ttl(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """One problem at `ttl`, not one per form of the union (`ttl.constrained-str`, `ttl.int`)."""
        try:
            return handler(value)
        except ValidationError:
            # pydantic_message adds "; got <value>"
            raise ValueError(session_service.TTL_RULE) from None


async def _minted(request: Request, session, creator, tenant_id: str, body: SessionCreate):
    row, token = await session_service.create_session(session, creator=creator, tenant_id=tenant_id,
                                                      scopes=body.scopes, ttl=body.ttl, subject=body.subject,
                                                      actor=actor(request, creator))
    return ok(request, session_service.session_view(row, token), status_code=201)


@router.post("/tenants/{tenant_id}/sessions", status_code=201, response_model=views.one(SessionCreated))
async def create_tenant_session(request: Request, tenant_id: str, body: SessionCreate, principal: Platform,
                                session: SessionDep):
    """A session of the tenant, minted by a platform key."""
    tenant = await get_tenant(session, tenant_id=tenant_id)
    return await _minted(request, session, principal, tenant.id, body)


@router.post("/sessions", status_code=201, response_model=views.one(SessionCreated))
async def create_session(request: Request, body: SessionCreate, principal: Admin, session: SessionDep):
    """A session of the caller's tenant, minted by its admin key."""
    return await _minted(request, session, principal, principal.tenant_id, body)


@router.delete("/sessions/{session_id}", response_model=views.one(views.Deleted))
async def revoke_session(request: Request, session_id: str, caller: Caller, session: SessionDep):
    """Revokes the session: from this moment its token answers 401. A platform key without
    Relay-Tenant may revoke any tenant's session; every other caller only its tenant's (admin)."""
    tenant_id = None
    if not caller.is_platform or named_tenant(request.headers) is not None:
        principal = await act_as(request, session, caller)
        if not principal.allows("admin"):
            raise ApiError("insufficient_permissions", "this key lacks the scope admin",
                           details=[{"missing_scope": "admin"}])
        tenant_id = principal.tenant_id
    owner = await session_rows.tenant_of_session(session, session_id=session_id, tenant_id=tenant_id)
    if owner is None:
        raise NotFound("session")
    audit.note(session, actor(request, caller), "session.deleted", "session", session_id, tenant_id=owner)
    if not await session_rows.delete_session(session, session_id=session_id, tenant_id=tenant_id):
        raise NotFound("session")
    return ok(request, {"id": session_id, "deleted": True})
