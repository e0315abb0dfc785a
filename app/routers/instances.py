"""/v1/instances: read a run, cancel it, deliver an event to it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from app.deps import ReadInstances, SettingsDep, TemporalDep, WriteInstances
from app.responses import ok
from app.services import runs

router = APIRouter(prefix="/instances", tags=["instances"])


class InstanceEvent(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    payload: Any = None


@router.get("/{instance_id}")
async def get_instance(request: Request, instance_id: str, principal: ReadInstances, temporal: TemporalDep,
                       settings: SettingsDep):
    return ok(request, await runs.get_instance(temporal, settings, tenant_id=principal.tenant_id,
                                               instance_id=instance_id))


@router.post("/{instance_id}/cancel")
async def cancel_instance(request: Request, instance_id: str, principal: WriteInstances, temporal: TemporalDep,
                          settings: SettingsDep):
    return ok(request, await runs.cancel_instance(temporal, settings, tenant_id=principal.tenant_id,
                                                  instance_id=instance_id))


@router.post("/{instance_id}/events", status_code=202)
async def send_event(request: Request, instance_id: str, event: InstanceEvent, principal: WriteInstances,
                     temporal: TemporalDep):
    await runs.send_event(temporal, tenant_id=principal.tenant_id, instance_id=instance_id,
                          name=event.name, payload=event.payload)
    return ok(request, {"instance_id": instance_id, "name": event.name, "delivered": True}, status_code=202)
