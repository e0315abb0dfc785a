"""/v1/keys: the API keys of the caller's tenant. A key is shown once, at creation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func
from sqlmodel import col, select

from app.db.tables import ApiKey, utcnow
from app.deps import Admin, Limit, Page, SessionDep, actor
from app.services import audit
from app.errors import ApiError, not_found, shorten
from app.responses import ok
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


@router.post("", status_code=201)
async def create_api_key(request: Request, body: KeyCreate, principal: Admin, session: SessionDep):
    details = [{"path": f"scopes.{i}", "message": f"unknown scope {shorten(scope)}; one of {', '.join(SCOPES)}"}
               for i, scope in enumerate(body.scopes) if scope not in SCOPES]
    if details:
        raise ApiError("validation_error", "the key is not valid", details=details)
    row, key = await create_key(session, tenant_id=principal.tenant_id, scopes=body.scopes, name=body.name,
                                actor=actor(request, principal))
    return ok(request, {**key_view(row), "key": key}, status_code=201)


@router.get("")
async def list_api_keys(request: Request, principal: Admin, session: SessionDep,
                        page: Page = 1, limit: Limit = 20):
    where = [col(ApiKey.tenant_id) == principal.tenant_id, col(ApiKey.revoked_at).is_(None)]
    total = (await session.exec(select(func.count()).select_from(ApiKey).where(*where))).one()
    rows = (await session.exec(select(ApiKey).where(*where).order_by(col(ApiKey.created_at), col(ApiKey.id))
                               .offset((page - 1) * limit).limit(limit))).all()
    return ok(request, [key_view(row) for row in rows],
              meta={"total": total, "page": page, "limit": limit, "has_more": page * limit < total})


@router.delete("/{key_id}")
async def revoke_api_key(request: Request, key_id: str, principal: Admin, session: SessionDep):
    """Revokes the key: from this moment it answers 401. Revoked keys leave the list."""
    row = (await session.exec(select(ApiKey).where(ApiKey.tenant_id == principal.tenant_id, ApiKey.id == key_id,
                                                   col(ApiKey.revoked_at).is_(None)))).first()
    if row is None:
        raise not_found("key")
    row.revoked_at = utcnow()
    session.add(row)
    audit.note(session, actor(request, principal), "key.deleted", "key", row.id)
    await session.commit()
    return ok(request, {"id": key_id, "deleted": True})
