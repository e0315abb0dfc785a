"""/v1/alerts: circuit-breaker and other alerts of the caller's tenant."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app import views
from app.deps import Limit, Page, ReadWorkflows, SessionDep
from app.db.repo.alerts import page_of_alerts
from app.responses import ok_page
from app.services.alerts import alert_view

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", response_model=views.page(views.AlertView))
async def get_alerts(request: Request, principal: ReadWorkflows, session: SessionDep,
                     page: Page = 1, limit: Limit = 20, workflow_id: str | None = None):
    found = await page_of_alerts(session, tenant_id=principal.tenant_id, page=page, limit=limit,
                                 workflow_id=workflow_id)
    return ok_page(request, found.map(alert_view))
