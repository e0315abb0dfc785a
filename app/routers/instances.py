"""/v1/instances: read a run, cancel it, deliver an event to it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app import views
from app.deps import Limit, ReadInstances, SessionDep, SettingsDep, TemporalDep, WriteInstances, actor
from app.idempotency import idempotency_key_of
from app.responses import ok
from app.services import audit, instances, runs
from app.temporal import STATUS_QUERY

router = APIRouter(prefix="/instances", tags=["instances"])
# What the visibility query accepts (instances.visibility_query); an empty value is no filter.
Filter = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.:-]{0,100}$", description="empty: no filter")]
Status = Annotated[str | None, Query(json_schema_extra={"enum": list(STATUS_QUERY)})]
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]")


def _as_written(value: Any) -> Any:
    if isinstance(value, str) and not _RFC3339.match(value):  # not a number read as unix seconds
        raise ValueError("an RFC 3339 date-time, e.g. 2026-01-31T09:00:00Z")
    return value


def _with_offset(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("a date-time with a time zone offset, e.g. 2026-01-31T09:00:00Z")
    return value


# What the document says (format: date-time): RFC 3339 with an offset, nothing else.
DateTime = Annotated[datetime | None, BeforeValidator(_as_written), AfterValidator(_with_offset), Query()]


@router.get("", response_model=views.CursorEnvelope)
async def list_instances(request: Request, principal: ReadInstances, temporal: TemporalDep, settings: SettingsDep,
                         workflow_id: Filter = None, status: Status = None, trigger_type: Filter = None,
                         started_after: DateTime = None, started_before: DateTime = None,
                         entity_id: Filter = None, limit: Limit = 20, cursor: str | None = None):
    page, next_cursor = await instances.list_instances(
        temporal, settings, tenant_id=principal.tenant_id, limit=limit, cursor=cursor, workflow_id=workflow_id or None,
        status=status, trigger_type=trigger_type or None, started_after=started_after, started_before=started_before,
        entity_id=entity_id or None)
    return ok(request, page, meta={"limit": limit, "next_cursor": next_cursor})


class InstanceEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    payload: Any = None


@router.get("/{instance_id}", response_model=views.one(views.InstanceView))
async def get_instance(request: Request, instance_id: str, principal: ReadInstances, temporal: TemporalDep,
                       settings: SettingsDep):
    return ok(request, await runs.get_instance(temporal, settings, tenant_id=principal.tenant_id,
                                               instance_id=instance_id))


@router.get("/{instance_id}/history", response_model=views.one(views.Timeline))
async def history(request: Request, instance_id: str, principal: ReadInstances, temporal: TemporalDep,
                  settings: SettingsDep):
    return ok(request, await instances.timeline(temporal, settings, tenant_id=principal.tenant_id,
                                                instance_id=instance_id))


class RetryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal["latest"] | Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


@router.post("/{instance_id}/retry", status_code=201, response_model=views.one(views.InstanceView))
async def retry(request: Request, instance_id: str, principal: WriteInstances, temporal: TemporalDep,
                settings: SettingsDep, session: SessionDep, body: RetryBody | None = None):
    instance = await instances.retry_instance(session, temporal, settings, tenant_id=principal.tenant_id,
                                              instance_id=instance_id, version=(body or RetryBody()).version,
                                              idempotency_key=idempotency_key_of(request.scope))
    await _audited(session, request, principal, "instance.retried", instance_id)
    return ok(request, instance, status_code=201)


@router.post("/{instance_id}/cancel", response_model=views.one(views.InstanceView))
async def cancel_instance(request: Request, instance_id: str, principal: WriteInstances, temporal: TemporalDep,
                          settings: SettingsDep, session: SessionDep):
    cancelled = await runs.cancel_instance(temporal, settings, tenant_id=principal.tenant_id, instance_id=instance_id)
    await _audited(session, request, principal, "instance.cancelled", instance_id)
    return ok(request, cancelled)


async def _audited(session, request: Request, principal, action: audit.Action, instance_id: str) -> None:
    """A cancel or retry changes Temporal, not the database: its entry follows Temporal's yes."""
    audit.note(session, actor(request, principal), action, "instance", instance_id)
    await session.commit()


@router.post("/{instance_id}/events", status_code=202, response_model=views.one(views.EventDelivered))
async def send_event(request: Request, instance_id: str, event: InstanceEvent, principal: WriteInstances,
                     temporal: TemporalDep):
    await runs.send_event(temporal, tenant_id=principal.tenant_id, instance_id=instance_id,
                          name=event.name, payload=event.payload)
    return ok(request, {"instance_id": instance_id, "name": event.name, "delivered": True}, status_code=202)
