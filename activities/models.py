"""Activity inputs and outputs: one model in, one model out (pure: imported by workflow code).

The activity names are the ones registered with Temporal: running workflows and recorded
histories call the activities by these names, so they never change.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from workflows.definition import Definition
from workflows.models import TriggerInfo

ACTION_ACTIVITIES = ("send_email", "webhook", "send_channel_message", "create_task", "update_field")
ADMIT_ACTIVITY = "admit_scheduled_run"
FIRE_ACTIVITY = "fire_threshold"
PRUNE_ACTIVITY = "prune_expired"  # the maintenance workflow's steps (app/services/maintenance.py)
RECONCILE_ACTIVITY = "reconcile_schedules"
CALL_ACTIVITY = "prepare_call"
FAILURE_ACTIVITY = "start_failure_workflow"
FLOW_ENQUEUE_ACTIVITY = "flow_enqueue"  # a run asks a flow-control gate for admission (workflows/flow.py)
FLOW_CLOSED_ACTIVITY = "flow_closed"  # which of a gate's holders have ended (terminated runs release nothing)
FLOW_START_ACTIVITY = "flow_start"  # a debounce/batch collector starts the run it opened (workflows/collector.py)


class ActionInput(BaseModel):
    """What the interpreter hands to every action activity.

    `input` is the step's input with every template already rendered by the
    workflow, except `{{secrets.NAME}}` tokens, which the workflow turned into
    placeholders `\u27e6secret:<secret_nonce>:NAME\u27e7` (see activities/secrets.py)
    so that only the activity, never Temporal history, sees the value.
    """

    tenant_id: str
    instance_id: str
    step_id: str
    input: dict[str, Any] = Field(default_factory=dict)
    secret_nonce: str = ""
    depth: int = 0
    key_instance_id: str = ""  # a retry's first instance (RunInput.retry_root): its keys are the chain's

    @property
    def idempotency_key(self) -> str:
        return f"{self.key_instance_id or self.instance_id}:{self.step_id}"


class ActionResult(BaseModel):
    output: dict[str, Any] = Field(default_factory=dict)
    attempt: int = 1


class AdmitInput(BaseModel):
    """A run that no API request admitted (a schedule's) asks the circuit breaker for its slot."""

    tenant_id: str
    workflow_id: str


class AdmitResult(BaseModel):
    allowed: bool
    reason: str | None = None


class FireInput(BaseModel):
    """A ThresholdWatcher's crossing: start one run of the workflow."""

    tenant_id: str
    workflow_id: str
    idempotency_key: str  # watcher id + generation + fire sequence: a retried activity starts one run
    trigger: TriggerInfo


class FireResult(BaseModel):
    instance_id: str


class CallInput(BaseModel):
    """A call_workflow step asks for its child run: the callee's version, admitted against the
    callee's circuit breaker and its tenant's quotas under the child's Temporal id."""

    tenant_id: str
    workflow_id: str
    version: int | None = None  # None: the callee's active version
    temporal_id: str  # the child's


class CallPrepared(BaseModel):
    workflow_name: str
    version: int
    definition: Definition
    tenant_name: str | None = None


class FailureInput(BaseModel):
    """A run that failed: start its workflow's failure workflow, if it has one (SPEC §3.4)."""

    tenant_id: str
    workflow_id: str
    workflow_name: str
    instance_id: str
    status: str
    error: str | None = None
    failed_step: str | None = None


class FailureStarted(BaseModel):
    instance_id: str | None = None  # None: no failure workflow, or it was refused
    reason: str | None = None
