"""/v1/audit: the caller's tenant's audit log, newest first (SPEC §3.3)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app import views
from app.audit_views import AuditEntryView
from app.deps import Admin, Limit, Page, SessionDep
from app.responses import ok_page
from app.db.repo.audit import page_of_entries
from app.services.audit import entry_view

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=views.page(AuditEntryView))
async def get_audit(request: Request, principal: Admin, session: SessionDep, page: Page = 1, limit: Limit = 20):
    found = await page_of_entries(session, tenant_id=principal.tenant_id, page=page, limit=limit)
    return ok_page(request, found.map(entry_view))
