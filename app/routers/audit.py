"""/v1/audit: the caller's tenant's audit log, newest first (SPEC §3.3)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.deps import Admin, Limit, Page, SessionDep
from app.responses import ok
from app.services.audit import entry_view, page_of_entries

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
async def get_audit(request: Request, principal: Admin, session: SessionDep, page: Page = 1, limit: Limit = 20):
    found = await page_of_entries(session, tenant_id=principal.tenant_id, page=page, limit=limit)
    return ok(request, [entry_view(row) for row in found.items], meta=found.meta())
