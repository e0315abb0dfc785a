"""/v1/workflows: create, read, list, trigger; schedule triggers follow every change (services.schedules)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt
from pydantic.alias_generators import to_camel

from app import views
from app.db.repo import start_rows
from app.db.repo import workflows as workflow_rows
from app.deps import (
    Limit,
    Page,
    ReadWorkflows,
    SessionDep,
    SettingsDep,
    TemporalDep,
    TriggerCall,
    WriteInstances,
    WriteWorkflows,
    actor,
)
from app.idempotency import idempotency_key_of
from app.responses import ok, ok_list, ok_page
from app.services import audit, definitions, dryrun, runs, schedules, triggering
from app.services import workflows as workflow_service
from app.services.errors import NotFound
from app.services.tenant_names import tenant_name
from workflows import seeds
from workflows.definition import Definition
from workflows.models import TriggerInfo

router = APIRouter(prefix="/workflows", tags=["workflows"])
MAX_VERSION = 2**31 - 1  # a version number is a 32-bit column


@router.post("", status_code=201, response_model=views.one(views.WorkflowView))
async def create_workflow(request: Request, principal: WriteWorkflows, session: SessionDep,
                          settings: SettingsDep, temporal: TemporalDep, body: dict[str, Any] = Body(...)):
    row, version = await workflow_service.create_workflow(
        session, tenant_id=principal.tenant_id, body=body, settings=settings, actor=actor(request, principal),
        sync=schedules.follower(temporal, settings, session, was_trigger=None))
    return ok(request, workflow_service.workflow_view(row, version, settings), status_code=201)


@router.get("", response_model=views.page(views.WorkflowView))
async def list_workflows(request: Request, principal: ReadWorkflows, session: SessionDep, settings: SettingsDep,
                         temporal: TemporalDep,
                         page: Page = 1, limit: Limit = 20,
                         enabled: bool | None = None, trigger_type: str | None = None, q: str | None = None):
    found = await workflow_rows.page_of_workflows(session, tenant_id=principal.tenant_id, page=page, limit=limit,
                                                  enabled=enabled, trigger_type=trigger_type, q=q)
    versions = await workflow_rows.shown_versions(session, tenant_id=principal.tenant_id, rows=found.items)
    stats = await asyncio.gather(*(runs.workflow_stats(temporal, tenant_id=principal.tenant_id, workflow_id=row.id)
                                   for row in found.items))
    views = dict(zip((row.id for row in found.items), stats, strict=True))
    return ok_page(request, found.map(lambda row: workflow_service.workflow_view(row, versions.get(row.id), settings,
                                                                                 views[row.id])))


async def _workflow(session, tenant_id: str, workflow_id: str):
    row = await workflow_rows.get_workflow(session, tenant_id=tenant_id, workflow_id=workflow_id)
    if row is None:
        raise NotFound("workflow")
    return row


@router.get("/{workflow_id}", response_model=views.one(views.WorkflowView))
async def get_workflow(request: Request, workflow_id: str, principal: ReadWorkflows, session: SessionDep,
                       settings: SettingsDep, temporal: TemporalDep):
    row = await _workflow(session, principal.tenant_id, workflow_id)
    version = await workflow_rows.get_version(session, tenant_id=principal.tenant_id, workflow_id=row.id,
                                      number=row.active_version or row.latest_version)
    stats = await runs.workflow_stats(temporal, tenant_id=principal.tenant_id, workflow_id=row.id)
    return ok(request, workflow_service.workflow_view(row, version, settings, stats))


@router.patch("/{workflow_id}", response_model=views.one(views.WorkflowView))
async def update_workflow(request: Request, workflow_id: str, principal: WriteWorkflows, session: SessionDep,
                          settings: SettingsDep, temporal: TemporalDep, body: dict[str, Any] = Body(...)):
    row = await _workflow(session, principal.tenant_id, workflow_id)
    was_enabled, was_trigger = row.enabled, row.trigger_type
    row, _ = await workflow_service.update_workflow(
        session, row=row, body=body, settings=settings, actor=actor(request, principal),
        sync=schedules.follower(temporal, settings, session, was_trigger=was_trigger))
    if row.enabled and not was_enabled:
        await triggering.reset(session, workflow=row)
    version = await workflow_rows.get_version(session, tenant_id=principal.tenant_id, workflow_id=row.id,
                                      number=row.active_version or row.latest_version)
    return ok(request, workflow_service.workflow_view(row, version, settings))


@router.delete("/{workflow_id}", response_model=views.one(views.Deleted))
async def delete_workflow(request: Request, workflow_id: str, principal: WriteWorkflows, session: SessionDep,
                          temporal: TemporalDep):
    row = await _workflow(session, principal.tenant_id, workflow_id)
    if row.trigger_type == "schedule":  # first: a 503 here leaves both in place
        await schedules.delete_schedule(temporal, workflow=row)
    audit.note(session, actor(request, principal), "workflow.deleted", "workflow", row.id)  # with the delete
    await workflow_rows.delete_workflow(session, row=row)
    return ok(request, {"id": workflow_id, "deleted": True})


@router.get("/{workflow_id}/versions", response_model=views.page(views.VersionView))
async def list_versions(request: Request, workflow_id: str, principal: ReadWorkflows, session: SessionDep):
    row = await _workflow(session, principal.tenant_id, workflow_id)
    versions = await workflow_rows.list_versions(session, tenant_id=principal.tenant_id, workflow_id=row.id)
    return ok_list(request, [workflow_service.version_view(row, version) for version in versions])


@router.get("/{workflow_id}/versions/{number}", response_model=views.one(views.VersionView))
async def get_version(request: Request, workflow_id: str, principal: ReadWorkflows, session: SessionDep,
                      number: int = Path(ge=1, le=MAX_VERSION)):
    row = await _workflow(session, principal.tenant_id, workflow_id)
    version = await workflow_rows.get_version(session, tenant_id=principal.tenant_id, workflow_id=row.id, number=number)
    if version is None:
        raise NotFound("version")
    return ok(request, workflow_service.version_view(row, version))


class PublishBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


@router.post("/{workflow_id}/publish", response_model=views.one(views.WorkflowView))
async def publish(request: Request, workflow_id: str, principal: WriteWorkflows, session: SessionDep,
                  settings: SettingsDep, temporal: TemporalDep, body: PublishBody | None = None):
    row = await _workflow(session, principal.tenant_id, workflow_id)
    was_trigger = row.trigger_type
    version = await workflow_service.publish_version(
        session, row=row, number=(body or PublishBody()).version, actor=actor(request, principal),
        sync=schedules.follower(temporal, settings, session, was_trigger=was_trigger))
    return ok(request, workflow_service.workflow_view(row, version, settings))


class TriggerBody(BaseModel):
    """`POST …/trigger`: snake_case or seed 004's camelCase (`entityType`, `entityId`); unknown fields are
    refused. Without an entity the run's trigger names `api_trigger` and the workflow's id (seed 004)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    entity_type: str | None = Field(default=None, min_length=1, max_length=120)
    entity_id: Annotated[str | StrictInt | StrictFloat | None, views.ENTITY_ID] = Field(
        default=None, union_mode="left_to_right")
    data: dict[str, Any] = Field(default_factory=dict)
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)

    def trigger(self, kind: str, workflow_id: str) -> TriggerInfo:
        entity_id = workflow_id if self.entity_id is None else str(self.entity_id)
        return TriggerInfo(type=kind, entity=self.entity_type or seeds.API_TRIGGER_ENTITY, entity_id=entity_id,
                           data=self.data, received_at=datetime.now(UTC))


class TestBody(TriggerBody):
    mocks: dict[str, Any] = Field(default_factory=dict, description="step id → the output it pretends to have")
    definition: dict[str, Any] | None = Field(default=None, description="an unsaved definition to dry-run")


@router.post("/{workflow_id}/test", response_model=views.one(views.DryRun))
async def test_workflow(request: Request, workflow_id: str, principal: WriteInstances, session: SessionDep,
                        settings: SettingsDep, temporal: TemporalDep, body: TestBody | None = None):
    """A dry run of the active (or given) version, or of an unsaved `definition` in the body."""
    body = body or TestBody()
    row = await _workflow(session, principal.tenant_id, workflow_id)
    if body.definition is not None:
        definition = definitions.runnable({"name": row.name, **body.definition}, settings)
        number = row.latest_version
    else:
        number = body.version or row.active_version or row.latest_version
        version = await workflow_rows.get_version(session, tenant_id=principal.tenant_id, workflow_id=row.id,
                                                  number=number)
        if version is None:
            raise NotFound("version")
        definition = Definition.model_validate(definitions.without_secrets(version.definition))
    trace = await dryrun.dry_run(temporal, settings, tenant_id=principal.tenant_id, workflow_id=row.id,
                                 workflow_name=row.name, version=number, definition=definition,
                                 trigger=body.trigger("test", row.id), mocks=body.mocks,
                                 tenant_name=await tenant_name(session, principal.tenant_id))
    return ok(request, trace)


@router.post("/{workflow_id}/trigger", status_code=201, response_model=views.one(views.InstanceView))
async def trigger_workflow(request: Request, workflow_id: str, call: TriggerCall, body: TriggerBody | None = None):
    body = body or TriggerBody()
    row, version = await start_rows.get_with_version(call.session, tenant_id=call.principal.tenant_id,
                                                     workflow_id=workflow_id, number=body.version,
                                                     cache=request.app.state.workflow_cache)
    if row is None:
        raise NotFound("workflow")
    instance = await triggering.start(call.session, call.temporal, call.settings, workflow=row,
                                      trigger=body.trigger("manual", row.id), version_number=body.version,
                                      version=version, idempotency_key=idempotency_key_of(request.scope))
    return ok(request, instance, status_code=201)
