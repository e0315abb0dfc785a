"""/v1/events: a fact from the host product starts every event workflow it matches (SPEC §2.2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from app import views
from app.deps import EventCall
from app.idempotency import idempotency_key_of
from app.responses import ok
from app.services import events
from workflows.models import TriggerInfo

router = APIRouter(prefix="/events", tags=["events"])


class EventBody(BaseModel):
    """`entityId`/`occurredAt` are accepted too; unknown fields are refused (a typo would match nothing)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    type: str = Field(min_length=1, max_length=200, pattern=r"^[^\s*?\[\]]+$",
                      description='the event name, e.g. "deal.updated" (no spaces or glob characters)')
    entity: str | None = Field(default=None, max_length=120)
    entity_id: Annotated[str | int | None, views.ENTITY_ID] = Field(default=None, union_mode="left_to_right")
    data: dict[str, Any] = Field(default_factory=dict)
    previous: dict[str, Any] | None = None
    occurred_at: datetime | None = None


@router.post("", status_code=202, response_model=views.one(views.Dispatched))
async def post_event(request: Request, body: EventBody, call: EventCall):
    depth = events.depth_of(request.headers.get("x-relay-depth"))
    # without an `entity`, the event names it: "deal.updated" is about a deal (what {{trigger.entity}} says)
    entity = body.entity or (body.type.split(".", 1)[0] if "." in body.type else None)
    trigger = TriggerInfo(type="event", event=body.type, entity=entity,
                          entity_id=str(body.entity_id) if body.entity_id is not None else None,
                          data=body.data, previous=body.previous, received_at=datetime.now(UTC),
                          occurred_at=body.occurred_at)
    result = await events.dispatch(call.session, call.temporal, call.settings, tenant_id=call.principal.tenant_id,
                                   trigger=trigger, depth=depth, idempotency_key=idempotency_key_of(request.scope),
                                   cache=request.app.state.workflow_cache)
    return ok(request, {"matched": result.matched, "instances": result.instances, "refused": result.refused},
              status_code=202)
