"""The interpreter's input, state and signals: one model each (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from workflows.definition import Definition
from workflows.flow import QUEUED_ATTRIBUTE

# The names Temporal knows RelayWorkflow by: running workflows and recorded histories call them, so
# they never change. The API reaches them through app/temporal.py.
RELAY_WORKFLOW = "RelayWorkflow"
STATE_QUERY = "state"
EVENT_SIGNAL = "event"
APPROVAL_UPDATE = "approval"

# The search attributes of every run (SPEC §4); app/temporal.py starts runs with them, and
# workflows/calls.py starts child runs with them.
SA_TENANT = SearchAttributeKey.for_keyword("RelayTenant")
SA_WORKFLOW_ID = SearchAttributeKey.for_keyword("RelayWorkflowId")
SA_WORKFLOW_VERSION = SearchAttributeKey.for_int("RelayWorkflowVersion")
SA_TRIGGER_TYPE = SearchAttributeKey.for_keyword("RelayTriggerType")
SA_ENTITY_ID = SearchAttributeKey.for_keyword("RelayEntityId")
SA_QUEUED = QUEUED_ATTRIBUTE  # true while the run waits for flow-control admission (SPEC §2.7)


def search_attributes(
    *, tenant_id: str, workflow_id: str, version: int, trigger_type: str, entity_id: str | None,
    queued: bool = False
) -> TypedSearchAttributes:
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(SA_TENANT, tenant_id),
        SearchAttributePair(SA_WORKFLOW_ID, workflow_id),
        SearchAttributePair(SA_WORKFLOW_VERSION, version),
        SearchAttributePair(SA_TRIGGER_TYPE, trigger_type),
    ]
    if entity_id:
        pairs.append(SearchAttributePair(SA_ENTITY_ID, entity_id))
    if queued:
        pairs.append(SearchAttributePair(SA_QUEUED, True))
    return TypedSearchAttributes(pairs)


StepStatus = Literal["running", "waiting", "completed", "failed", "cancelled", "skipped"]
RunStatus = Literal["running", "completed", "failed", "cancelled"]


class TriggerInfo(BaseModel):
    type: str = "manual"
    event: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    previous: dict[str, Any] | None = None
    received_at: datetime | None = None
    occurred_at: datetime | None = None
    metric: dict[str, Any] | None = None
    parent: dict[str, Any] | None = None  # a call_workflow child's caller: {"instance_id", "step_id"}
    events: list[dict[str, Any]] | None = None  # a batch's triggers, oldest first (SPEC §2.7)


class Admission(BaseModel):
    """A flow-control gate lets a run go (SPEC §2.7); a debounce or batch gate hands it its trigger."""

    kind: str
    trigger: TriggerInfo | None = None


class RunInput(BaseModel):
    tenant_id: str
    tenant_name: str | None = None  # {{account.name}} (seed 003) unless the trigger data carries account
    instance_id: str
    workflow_id: str
    workflow_name: str
    version: int
    definition: Definition
    trigger: TriggerInfo = Field(default_factory=TriggerInfo)
    depth: int = 0
    call_depth: int = 0  # how many call_workflow steps above this run (SPEC §2.4: at most 8)
    dry_run: bool = False
    mocks: dict[str, Any] = Field(default_factory=dict)
    # Retry from the failed step: completed steps of the earlier instance, reused instead of run.
    resume: dict[str, StepRecord] = Field(default_factory=dict)
    retry_of: str | None = None
    # The first instance of a chain of retries: its id keys the steps' side effects, so a step that
    # runs again in a retry (inside a for_each, say) sends the Idempotency-Key it sent before.
    retry_root: str | None = None
    # Continue-as-new: where the previous run of this instance stopped, with everything it knew.
    continuation: Continuation | None = None
    # Iterations of a top-level for_each per run before continuing as new (None: when Temporal suggests).
    continue_every: int | None = None


class StepRecord(BaseModel):
    """One step's record; `reused` marks a step taken over from the instance this one retries."""

    id: str
    type: str
    name: str | None = None
    status: StepStatus = "running"
    attempts: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    output: Any = None
    error: str | None = None
    error_type: str | None = None
    missing: list[str] = Field(default_factory=list)
    branch: str | None = None
    iteration: int | None = None
    reused: bool = False


class Continuation(BaseModel):
    block_index: int
    state: RunState
    outputs: dict[str, Any] = Field(default_factory=dict)
    loop_next: int | None = None
    loop_results: list[Any] = Field(default_factory=list)


class RunState(BaseModel):
    """Everything a run knows; the query answer while running and the result when done."""

    status: RunStatus = "running"
    trigger: TriggerInfo | None = None
    retry_of: str | None = None
    current_step: str | None = None
    steps: dict[str, StepRecord] = Field(default_factory=dict)
    error: str | None = None
    stop_reason: str | None = None
    pending_events: dict[str, list[Any]] = Field(default_factory=dict)
    approvals: dict[str, Approval] = Field(default_factory=dict)  # by approval block id


class Approval(BaseModel):
    """An approval block's state: its rendered message once the run reaches it, and its decision
    (the first one; "timeout" when none came in time)."""

    message: str | None = None
    decision: Literal["approved", "rejected", "timeout"] | None = None
    by: str | None = None
    comment: str | None = None
    decided_at: datetime | None = None


class ApprovalDecision(BaseModel):
    """The `approval` update: a decision for one approval block (SPEC §2.4)."""

    block_id: str
    decision: Literal["approved", "rejected"]
    by: str | None = None
    comment: str | None = None


class ApprovalAnswer(BaseModel):
    """What the `approval` update answers: `accepted` only for the first decision."""

    accepted: bool
    reason: Literal["decided", "gone", "unknown_block"] | None = None
    approval: Approval | None = None


class EventSignal(BaseModel):
    name: str
    payload: Any = None


RunInput.model_rebuild()
Continuation.model_rebuild()
RunState.model_rebuild()
