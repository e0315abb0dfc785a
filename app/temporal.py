"""Temporal: one way to connect, Relay's ids, its search attributes (SPEC §4), the names of its
workflows, queries and signals, the one way to start a run, and the one map of execution statuses."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from app import tracing
from app.config import Settings
from workflows.collector import CollectorState, CollectRequest
from workflows.flow import (
    COLLECT_UPDATE,
    COLLECTOR_WORKFLOW,
    ENQUEUE_SIGNAL,
    GATE_WORKFLOW,
    GateRequest,
    priority_of,
    run_priority,
)
from workflows.flowgate import GateState
from workflows.models import (
    APPROVAL_UPDATE,
    EVENT_SIGNAL,
    RELAY_WORKFLOW,
    SA_ENTITY_ID,
    SA_QUEUED,
    SA_TENANT,
    SA_TRIGGER_TYPE,
    SA_WORKFLOW_ID,
    SA_WORKFLOW_VERSION,
    STATE_QUERY,
    ApprovalAnswer,
    ApprovalDecision,
    EventSignal,
    RunInput,
    RunState,
    search_attributes,
)
from workflows.threshold import POINTS_SIGNAL, WATCHER_WORKFLOW

__all__ = ["APPROVAL_UPDATE", "EVENT_SIGNAL", "POINTS_SIGNAL", "RELAY_WORKFLOW", "SA_ENTITY_ID", "SA_QUEUED",
           "SA_TENANT", "SA_TRIGGER_TYPE", "SA_WORKFLOW_ID", "SA_WORKFLOW_VERSION", "STATE_QUERY", "WATCHER_WORKFLOW",
           "search_attributes"]

# Execution status → what the API says (SPEC §4), and → what a visibility query says.
STATUS_NAMES = {
    Status.RUNNING: "running",
    Status.COMPLETED: "completed",
    Status.FAILED: "failed",
    Status.CANCELED: "cancelled",
    Status.TERMINATED: "terminated",
    Status.TIMED_OUT: "timed_out",
    Status.CONTINUED_AS_NEW: "running",
}
VISIBILITY_NAMES = {
    Status.RUNNING: "Running",
    Status.COMPLETED: "Completed",
    Status.FAILED: "Failed",
    Status.CANCELED: "Canceled",
    Status.TERMINATED: "Terminated",
    Status.TIMED_OUT: "TimedOut",
}
# API name → visibility clause; `queued` and `running` are both Temporal's Running (SPEC §2.7)
STATUS_QUERY = {"queued": "ExecutionStatus = 'Running' AND RelayQueued = true",
                "running": "ExecutionStatus = 'Running' AND RelayQueued IS NULL",
                **{STATUS_NAMES[status]: f"ExecutionStatus = '{name}'" for status, name in VISIBILITY_NAMES.items()
                   if status != Status.RUNNING}}
OPEN = frozenset({Status.RUNNING, Status.CONTINUED_AS_NEW})
ENDED_BADLY = frozenset({Status.FAILED, Status.TIMED_OUT, Status.TERMINATED, Status.CANCELED})


def status_name(status: Status | None, attributes: TypedSearchAttributes | None = None) -> str:
    """The API's status; an open run still waiting for flow-control admission is `queued` (§2.7)."""
    name = STATUS_NAMES.get(status, "running") if status else "running"
    if name == "running" and attributes is not None and attributes.get(SA_QUEUED):
        return "queued"
    return name


def is_open(status: Status | None) -> bool:
    return status is None or status in OPEN

# name -> type, as `temporal server start-dev --search-attribute NAME=TYPE` wants them
SEARCH_ATTRIBUTES = {
    "RelayTenant": "Keyword",
    "RelayWorkflowId": "Keyword",
    "RelayWorkflowVersion": "Int",
    "RelayTriggerType": "Keyword",
    "RelayEntityId": "Keyword",
    "RelayQueued": "Bool",
}


async def connect(settings: Settings, *, metrics_port: int | None = None) -> Client:
    """The one way to connect. With `metrics_port`, the SDK serves its Prometheus metrics
    (workflow/activity task latencies, slots, sticky cache, polls) on that port."""
    runtime = None
    if metrics_port:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"0.0.0.0:{metrics_port}")))
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
        interceptors=tracing.client_interceptors(),
    )


def temporal_workflow_id(tenant_id: str, instance_id: str) -> str:
    """An instance's Temporal id is tenant-prefixed, so ids never collide across tenants."""
    return f"{tenant_id}:{instance_id}"


def run_summary(*, name: str, workflow_id: str, version: int) -> str:
    """A run's static summary in Temporal (its user metadata; the UI shows it in the list and on
    the run's page): which Relay workflow and version it runs."""
    return f"Relay workflow {name!r} ({workflow_id}), version {version}"


def ui_url(settings: Settings, workflow_id: str, run_id: str | None) -> str:
    from urllib.parse import quote

    base = settings.temporal_ui_url.rstrip("/")
    url = f"{base}/namespaces/{quote(settings.temporal_namespace)}/workflows/{quote(workflow_id, safe='')}"
    return f"{url}/{run_id}/history" if run_id else url


async def start_run(client: Client, settings: Settings, run: RunInput, *, trigger_type: str, queued: bool = False,
                    **options: Any) -> WorkflowHandle[Any, RunState]:
    """Start RelayWorkflow on `run`, with its id, search attributes and priority (its tenant the
    fairness key); `options` go to start_workflow (an id reuse policy, a result type).

    Eager start is requested: when a worker of this task queue shares this client (`relay dev`,
    `relay api --with-worker`, a worker's own threshold firings) and has a free workflow-task
    slot, the server hands the run's first workflow task back in the start's answer instead of
    through matching (docs/decisions.md, "Eager workflow start"). Without such a worker the SDK
    drops the request and the start is an ordinary one."""
    options.setdefault("request_eager_start", True)
    return await client.start_workflow(
        RELAY_WORKFLOW, run, id=temporal_workflow_id(run.tenant_id, run.instance_id), task_queue=settings.task_queue,
        search_attributes=search_attributes(tenant_id=run.tenant_id, workflow_id=run.workflow_id, version=run.version,
                                            trigger_type=trigger_type, entity_id=run.trigger.entity_id,
                                            queued=queued),
        priority=run_priority(run.tenant_id, priority_of(run.definition.flow_control)),
        static_summary=run_summary(name=run.workflow_name, workflow_id=run.workflow_id, version=run.version), **options)


async def enqueue(client: Client, settings: Settings, tenant_id: str, request: GateRequest) -> None:
    """Ask a flow-control gate to admit a run: signal-with-start, so the gate exists afterwards."""
    await client.start_workflow(
        GATE_WORKFLOW, GateState(gate=request.gate), id=request.gate.gate_id, task_queue=settings.task_queue,
        start_signal=ENQUEUE_SIGNAL, start_signal_args=[request], priority=run_priority(tenant_id, 1))


async def collect(client: Client, settings: Settings, request: CollectRequest) -> str:
    """A debounce/batch start: update-with-start on its collector, which answers the instance id
    this start belongs to (its own when it opens a burst or batch)."""
    gate = request.gate
    for attempt in range(2):  # a collector that ended (idle) just as the update reached it: ask a new one
        start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            COLLECTOR_WORKFLOW, CollectorState(gate=gate), id=gate.gate_id, task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, priority=run_priority(request.run.tenant_id, 1))
        try:
            result: str = await client.execute_update_with_start_workflow(
                COLLECT_UPDATE, request, start_workflow_operation=start, result_type=str)
            return result
        except WorkflowUpdateFailedError:
            if attempt:
                raise
    raise AssertionError("unreachable")


async def still_open(client: Client, workflow_id: str) -> bool:
    """Whether the run with this Temporal id is still open (False when it is gone)."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return is_open(description.status)


async def run_state(handle: WorkflowHandle[Any, Any]) -> RunState:
    return await handle.query(STATE_QUERY, result_type=RunState)


async def send_event(handle: WorkflowHandle[Any, Any], event: EventSignal) -> None:
    await handle.signal(EVENT_SIGNAL, event)


async def decide_approval(handle: WorkflowHandle[Any, Any], decision: ApprovalDecision) -> ApprovalAnswer:
    """The `approval` update: the workflow answers whether this decision was the first."""
    return await handle.execute_update(APPROVAL_UPDATE, decision, result_type=ApprovalAnswer)
