"""The interpreter's input, state and signals: one model each (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from workflows.definition import Definition

# The names Temporal knows RelayWorkflow by: running workflows and recorded histories call them, so
# they never change. The API reaches them through app/temporal.py.
RELAY_WORKFLOW = "RelayWorkflow"
STATE_QUERY = "state"
EVENT_SIGNAL = "event"

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
    dry_run: bool = False
    mocks: dict[str, Any] = Field(default_factory=dict)
    # Retry from the failed step: completed steps of the earlier instance, reused instead of run.
    resume: dict[str, StepRecord] = Field(default_factory=dict)
    retry_of: str | None = None
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


class EventSignal(BaseModel):
    name: str
    payload: Any = None


RunInput.model_rebuild()
Continuation.model_rebuild()
