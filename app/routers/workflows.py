"""/v1/workflows: create, read, list, trigger."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Body, Query, Request

from app.deps import ReadWorkflows, SessionDep, SettingsDep, TemporalDep, WriteInstances, WriteWorkflows
from app.errors import ApiError, not_found
from app.idempotency import idempotency_key_of
from app.responses import ok
from app.services import runs
from app.services import workflows as store
from workflows.models import TriggerInfo

router = APIRouter(prefix="/workflows", tags=["workflows"])


@router.post("", status_code=201)
async def create_workflow(request: Request, principal: WriteWorkflows, session: SessionDep,
                          settings: SettingsDep, body: dict[str, Any] = Body(...)):
    row, version = await store.create_workflow(session, tenant_id=principal.tenant_id, body=body, settings=settings)
    return ok(request, store.workflow_view(row, version, settings), status_code=201)


@router.get("")
async def list_workflows(request: Request, principal: ReadWorkflows, session: SessionDep, settings: SettingsDep,
                         page: int = Query(1, ge=1), limit: int = Query(20, ge=1, le=100),
                         enabled: bool | None = None, trigger_type: str | None = None, q: str | None = None):
    rows, total = await store.list_workflows(session, tenant_id=principal.tenant_id, page=page, limit=limit,
                                             enabled=enabled, trigger_type=trigger_type, q=q)
    data = []
    for row in rows:
        version = await store.get_version(session, tenant_id=principal.tenant_id, workflow_id=row.id,
                                          number=row.active_version or row.latest_version)
        data.append(store.workflow_view(row, version, settings))
    return ok(request, data, meta={"total": total, "page": page, "limit": limit,
                                   "has_more": page * limit < total})


@router.get("/{workflow_id}")
async def get_workflow(request: Request, workflow_id: str, principal: ReadWorkflows, session: SessionDep,
                       settings: SettingsDep, temporal: TemporalDep):
    row = await store.get_workflow(session, tenant_id=principal.tenant_id, workflow_id=workflow_id)
    if row is None:
        raise not_found("workflow")
    version = await store.get_version(session, tenant_id=principal.tenant_id, workflow_id=row.id,
                                      number=row.active_version or row.latest_version)
    stats = await runs.workflow_stats(temporal, tenant_id=principal.tenant_id, workflow_id=row.id)
    return ok(request, store.workflow_view(row, version, settings, stats))


@router.post("/{workflow_id}/trigger", status_code=201)
async def trigger_workflow(request: Request, workflow_id: str, principal: WriteInstances, session: SessionDep,
                           settings: SettingsDep, temporal: TemporalDep, body: dict[str, Any] | None = Body(None)):
    body = body or {}
    row = await store.get_workflow(session, tenant_id=principal.tenant_id, workflow_id=workflow_id)
    if row is None:
        raise not_found("workflow")
    number = body.get("version") or row.active_version
    if number is None:
        raise ApiError("validation_error", "the workflow has no published version; give one",
                       details=[{"path": "version", "message": "required while no version is published"}])
    if not row.enabled:
        raise ApiError("workflow_disabled", f"the workflow is disabled ({row.disabled_reason or 'by its owner'})")
    version = await store.get_version(session, tenant_id=principal.tenant_id, workflow_id=row.id, number=number)
    if version is None:
        raise not_found("version")
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise ApiError("validation_error", "data must be an object", details=[{"path": "data", "message": "must be an object"}])
    entity_id = body.get("entity_id")
    trigger = TriggerInfo(type="manual", entity=body.get("entity_type"),
                          entity_id=str(entity_id) if entity_id is not None else None,
                          data=data, received_at=datetime.now(timezone.utc))
    instance = await runs.start_run(temporal, settings, workflow=row, version=version, trigger=trigger,
                                    idempotency_key=idempotency_key_of(request.scope))
    return ok(request, instance, status_code=201)
