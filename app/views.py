"""What each /v1 endpoint answers: the `data` of its envelope, declared on the route (`response_model`)
so /openapi.json describes it. The services build these answers; tests/app/test_views.py checks
that real answers fit them. Fields beyond the ones listed may appear (a definition's own fields)."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, create_model

from workflows.flow import FlowControl

# A trigger's or event's entity id becomes the run's RelayEntityId search attribute, which Temporal
# caps at 2 KiB (longer was a 500 from the start).
MAX_ENTITY_ID = 200


def _entity_id(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_ENTITY_ID:
        raise ValueError(f"at most {MAX_ENTITY_ID} characters")
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        raise ValueError("a number of at most 64 bits")
    return value


ENTITY_ID = BeforeValidator(_entity_id)  # on the whole field, so a refusal names the field once


class View(BaseModel):
    model_config = ConfigDict(extra="allow")


class RequestMeta(BaseModel):
    request_id: str


class PageMeta(RequestMeta):
    total: int
    page: int
    limit: int
    has_more: bool


class CursorMeta(RequestMeta):
    limit: int
    next_cursor: str | None


class WorkflowStats(View):
    total_runs: int | None
    success_count: int | None
    failure_count: int | None
    last_run_at: datetime | None = None


class WorkflowView(View):
    id: str
    name: str
    description: str | None = None
    trigger_type: str | None = None
    trigger_configuration: dict[str, Any] | None = None
    trigger_constraints: Any = None
    workflow_blocks: list[dict[str, Any]] | None = None
    flow_control: FlowControl | None = None
    enabled: bool
    workflow_id: str
    is_active: bool
    max_triggers_per_day: int | None
    on_failure_workflow_id: str | None = None
    version_number: int | None
    active_version: int | None
    latest_version: int
    webhook_url: str | None
    webhook_secret_set: bool
    disabled_reason: str | None
    workflow_editor_state: dict[str, Any] | None
    stats: WorkflowStats | None
    last_triggered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class VersionView(View):
    workflow_id: str
    version_number: int
    active: bool
    definition: dict[str, Any]
    webhook_secret_set: bool
    workflow_editor_state: dict[str, Any] | None
    created_at: datetime
    published_at: datetime | None


class KeyView(View):
    id: str
    name: str
    scopes: list[str]
    prefix: str
    created_at: datetime


class KeyCreated(KeyView):
    key: str  # shown once


class ConnectionView(View):
    id: str
    name: str
    type: str
    config: dict[str, Any]
    secrets: list[str]  # the names of its secrets; their values are write-only
    default: bool
    created_at: datetime


class AlertView(View):
    id: str
    kind: str
    workflow_id: str | None
    message: str
    details: dict[str, Any]
    delivered: bool
    created_at: datetime


class Deleted(View):
    id: str
    deleted: bool


class TemporalLink(View):
    workflow_id: str
    run_id: str | None
    ui_url: str


class InstanceView(View):
    id: str
    status: str
    workflow_id: str | None
    workflow_version: int | None
    trigger: dict[str, Any] | None
    current_step: str | None = None
    steps: list[dict[str, Any]] = []
    started_at: datetime | None
    closed_at: datetime | None = None
    error: str | None = None
    retry_of: str | None
    # approval blocks by id (SPEC §2.4): the rendered message once reached, and the decision
    approvals: dict[str, dict[str, Any]] = {}
    temporal: TemporalLink


class InstanceSummary(View):
    id: str
    status: str
    workflow_id: str | None
    workflow_version: int | None
    trigger_type: str | None
    started_at: datetime | None
    closed_at: datetime | None
    temporal: TemporalLink


class Timeline(View):
    id: str
    status: str
    steps: list[dict[str, Any]]
    events: list[dict[str, Any]]
    temporal: TemporalLink


class EventDelivered(View):
    instance_id: str
    name: str
    delivered: bool


class Dispatched(View):
    matched: list[str]
    instances: list[str]
    refused: list[dict[str, str]]  # {"workflow_id", "code", "message"}


class HookAccepted(View):
    instance_id: str


class PointsAccepted(View):
    accepted: int
    matched: list[str]


class DryRun(View):
    id: str
    status: str
    error: str | None
    dry_run: bool
    steps: list[dict[str, Any]]


@functools.cache
def one(model: type[BaseModel]) -> type[BaseModel]:
    """`{"data": model, "meta": {"request_id"}}`, named `<Model>Envelope` in the document."""
    return create_model(f"{model.__name__}Envelope", data=(model, ...), meta=(RequestMeta, ...))


@functools.cache
def page(model: type[BaseModel]) -> type[BaseModel]:
    """A page of a list (page/limit): `<Model>PageEnvelope`."""
    items = list[model]  # type: ignore[valid-type]
    return create_model(f"{model.__name__}PageEnvelope", data=(items, ...), meta=(PageMeta, ...))


# The one list served from Temporal visibility (cursor), named as tests and clients know it.
CursorEnvelope = create_model("CursorEnvelope", data=(list[InstanceSummary], ...), meta=(CursorMeta, ...))


class ApprovalView(View):
    """A recorded approval decision (SPEC §2.4)."""

    instance_id: str
    block_id: str
    decision: str
    by: str | None
    comment: str | None
    decided_at: datetime | None
