"""/v1/keys: the API keys of the caller's tenant. A key is shown once, at creation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from app import views
from app.db.repo import keys as key_rows
from app.db.tables import ApiKey
from app.deps import Admin, Limit, Page, SessionDep, actor
from app.services import audit
from app.errors import shorten
from app.services.errors import InvalidInput, NotFound
from app.responses import ok, ok_page
from app.services.keys import SCOPES, create_key
from workflows.definition import Name

router = APIRouter(prefix="/keys", tags=["keys"])


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field("", max_length=120)
    scopes: list[str] = Field(min_length=1, description=f"any of {', '.join(SCOPES)}")


def key_view(row: ApiKey) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "scopes": list(row.scopes), "prefix": row.prefix,
            "created_at": row.created_at}


@router.post("", status_code=201, response_model=views.one(views.KeyCreated))
async def create_api_key(request: Request, body: KeyCreate, principal: Admin, session: SessionDep):
    details = [{"path": f"scopes.{i}", "message": f"unknown scope {shorten(scope)}; one of {', '.join(SCOPES)}"}
               for i, scope in enumerate(body.scopes) if scope not in SCOPES]
    if details:
        raise InvalidInput("the key is not valid", details=details)
    row, key = await create_key(session, tenant_id=principal.tenant_id, scopes=body.scopes, name=body.name,
                                actor=actor(request, principal))
    return ok(request, {**key_view(row), "key": key}, status_code=201)


@router.get("", response_model=views.page(views.KeyView))
async def list_api_keys(request: Request, principal: Admin, session: SessionDep,
                        page: Page = 1, limit: Limit = 20):
    found = await key_rows.page_of_keys(session, tenant_id=principal.tenant_id, page=page, limit=limit)
    return ok_page(request, found.map(key_view))


@router.delete("/{key_id}", response_model=views.one(views.Deleted))
async def revoke_api_key(request: Request, key_id: str, principal: Admin, session: SessionDep):
    """Revokes the key: from this moment it answers 401. Revoked keys leave the list."""
    audit.note(session, actor(request, principal), "key.deleted", "key", key_id)
    if not await key_rows.revoke_key(session, tenant_id=principal.tenant_id, key_id=key_id):
        await session.rollback()  # nothing revoked: nor is the entry written
        raise NotFound("key")
    return ok(request, {"id": key_id, "deleted": True})
