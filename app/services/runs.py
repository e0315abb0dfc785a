"""Runs: starting one, reading one, steering one. All through Temporal, tenant-scoped."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowHandle
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from app import temporal
from app.config import Settings
from app.db.tables import Workflow, WorkflowVersion
from app.ids import new_id
from app.services import flow
from app.services.definitions import without_secrets
from app.services.errors import Conflict, DomainError, NotFound, temporal_error
from app.temporal import SA_TENANT, SA_WORKFLOW_ID, SA_WORKFLOW_VERSION, temporal_workflow_id, ui_url
from workflows.definition import Definition
from workflows.models import EventSignal, RunInput, RunState, StepRecord, TriggerInfo

log = structlog.get_logger("relay.runs")

IDEMPOTENCY_WINDOW = timedelta(hours=24)
EXISTING = "_existing"  # marks an answer that found the run already started (see triggering.start)
JOINED = "_joined"  # marks a debounce/batch start that joined another start's run (counts nothing)


def instance_id_for(idempotency_key: str | None) -> str:
    """A fresh id, or one derived from the request's Idempotency-Key, so that a retry after a
    crash between starting the run and answering finds the same run instead of starting another."""
    if idempotency_key is None:
        return new_id("inst")
    return "inst_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


async def start_run(client: Client, settings: Settings, *, workflow: Workflow, version: WorkflowVersion,
                    trigger: TriggerInfo, depth: int = 0, idempotency_key: str | None = None,
                    resume: dict[str, StepRecord] | None = None, retry_of: str | None = None,
                    retry_root: str | None = None, tenant_name: str | None = None,
                    instance_id: str | None = None) -> dict[str, Any]:
    instance_id = instance_id or instance_id_for(idempotency_key)
    run = RunInput(
        tenant_id=workflow.tenant_id, tenant_name=tenant_name, instance_id=instance_id, workflow_id=workflow.id,
        workflow_name=workflow.name, version=version.version_number,
        definition=Definition.model_validate(without_secrets(version.definition)), trigger=trigger, depth=depth,
        resume=resume or {}, retry_of=retry_of, retry_root=retry_root,
    )
    temporal_id = temporal_workflow_id(workflow.tenant_id, instance_id)
    waits = flow.Waits(run)
    owner = await waits.joined(client, settings)
    if owner is not None:  # debounce, batch: this start joins an open burst or batch (SPEC §2.7)
        return {**await get_instance(client, settings, tenant_id=workflow.tenant_id, instance_id=owner), JOINED: True}
    try:
        handle = await temporal.start_run(client, settings, run, trigger_type=trigger.type, queued=waits.queued,
                                          id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    except WorkflowAlreadyStartedError:  # a retry of a request whose run already started
        existing = await get_instance(client, settings, tenant_id=workflow.tenant_id, instance_id=instance_id)
        if waits.collector is not None and existing["status"] == "queued":
            return existing  # its collector started the burst's run first: this start opened it
        if existing["workflow_id"] != workflow.id:
            raise Conflict("idempotency_conflict",
                           "this Idempotency-Key already started a run of another workflow") from None
        started = existing["started_at"]
        if started is not None and datetime.now(UTC) - started > IDEMPOTENCY_WINDOW:
            # the key's 24 h are over: it is a new request, so a new run (with an id derived from
            # the old one, so that a retry of this start finds this new run in turn)
            return await start_run(client, settings, workflow=workflow, version=version, trigger=trigger,
                                   depth=depth, idempotency_key=f"{idempotency_key}@{started.isoformat()}",
                                   resume=resume, retry_of=retry_of, retry_root=retry_root, tenant_name=tenant_name)
        return {**existing, EXISTING: True}
    except RPCError as error:
        raise temporal_error(error) from None
    await waits.enqueue(client, settings)
    return {
        "id": instance_id, "status": "queued" if waits.queued else "running", "workflow_id": workflow.id,
        "workflow_version": version.version_number, "trigger": trigger.model_dump(mode="json"),
        "retry_of": retry_of,
        "started_at": datetime.now(UTC),
        "temporal": {"workflow_id": temporal_id, "run_id": handle.result_run_id,
                     "ui_url": ui_url(settings, temporal_id, handle.result_run_id)},
    }


def _closed_meanwhile(error: RPCError) -> DomainError:
    """The run ended between our describe() and the call, or Temporal went away."""
    if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
        return Conflict("instance_not_running", "the instance has already ended")
    return temporal_error(error)


async def _describe(client: Client, tenant_id: str,
                    instance_id: str) -> tuple[WorkflowHandle[Any, Any], WorkflowExecutionDescription]:
    if not instance_id.startswith("inst_") or len(instance_id) > 64:
        raise NotFound("instance")
    handle = client.get_workflow_handle(temporal_workflow_id(tenant_id, instance_id), result_type=RunState)
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise NotFound("instance") from None
        raise temporal_error(error) from None
    if description.typed_search_attributes.get(SA_TENANT) != tenant_id:
        raise NotFound("instance")
    return handle, description


describe = _describe  # (handle, description) of a tenant's instance, or NotFound


class _Lru(OrderedDict[Any, Any]):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


_closed_states = _Lru(10_000)  # a closed run never changes: its state is read from Temporal once
_stats: _Lru = _Lru(10_000)
STATS_TTL_SECONDS = 5.0
_stats_fetches: dict[tuple[asyncio.AbstractEventLoop, str, str], asyncio.Future[dict[str, Any]]] = {}


async def _state(handle: WorkflowHandle[Any, Any], status: Status | None, run_id: str | None = None) -> RunState | None:
    key, closed = (handle.id, run_id), not temporal.is_open(status)
    if closed and key in _closed_states:
        return _closed_states[key]
    try:
        if status == Status.COMPLETED:
            state = await handle.result()
        else:
            state = await temporal.run_state(handle)
    except Exception as error:  # noqa: BLE001 - no worker to answer the query: show what Temporal knows
        log.warning("instance.state_unavailable", workflow_id=handle.id, error=str(error))
        return None
    if closed and run_id:
        _closed_states.put(key, state)
    return state


async def get_instance(client: Client, settings: Settings, *, tenant_id: str, instance_id: str) -> dict[str, Any]:
    handle, description = await _describe(client, tenant_id, instance_id)
    status = temporal.status_name(description.status, description.typed_search_attributes)
    state = await _state(handle, description.status, description.run_id)
    attributes = description.typed_search_attributes
    return {
        "id": instance_id,
        "status": status,
        "workflow_id": attributes.get(SA_WORKFLOW_ID),
        "workflow_version": attributes.get(SA_WORKFLOW_VERSION),
        "trigger": state.trigger.model_dump(mode="json") if state and state.trigger else None,
        "current_step": state.current_step if state and temporal.is_open(description.status) else None,
        "steps": [step.model_dump(mode="json") for step in state.steps.values()] if state else [],
        "started_at": description.start_time,
        "closed_at": description.close_time,
        "error": state.error if state else None,
        "retry_of": state.retry_of if state else None,
        "approvals": {block_id: approval.model_dump(mode="json")
                      for block_id, approval in state.approvals.items()} if state else {},
        "temporal": {"workflow_id": handle.id, "run_id": description.run_id,
                     "ui_url": ui_url(settings, handle.id, description.run_id)},
    }


async def cancel_instance(client: Client, settings: Settings, *, tenant_id: str, instance_id: str) -> dict[str, Any]:
    handle, description = await _describe(client, tenant_id, instance_id)
    if description.status != Status.RUNNING:
        raise Conflict("instance_not_running", "the instance has already ended")
    try:
        await handle.cancel()
    except RPCError as error:
        raise _closed_meanwhile(error) from None
    with contextlib.suppress(TimeoutError):  # the current step is cancelled and the run closes within moments
        await asyncio.wait_for(_closed(handle), timeout=5)  # wait briefly to report it
    return await get_instance(client, settings, tenant_id=tenant_id, instance_id=instance_id)


async def _closed(handle: WorkflowHandle[Any, Any]) -> None:
    with contextlib.suppress(Exception):  # cancelled or failed: closed either way
        await handle.result()


async def send_event(client: Client, *, tenant_id: str, instance_id: str, name: str, payload: Any) -> None:
    handle, description = await _describe(client, tenant_id, instance_id)
    if description.status != Status.RUNNING:
        raise Conflict("instance_not_running", "the instance has already ended")
    try:
        await temporal.send_event(handle, EventSignal(name=name, payload=payload))
    except RPCError as error:
        raise _closed_meanwhile(error) from None


async def workflow_stats(client: Client, *, tenant_id: str, workflow_id: str) -> dict[str, Any]:
    """Counts from Temporal visibility (search attributes + execution status), not a copy of run
    state; kept for STATS_TTL_SECONDS so a busy list page does not flood visibility."""
    cached = _stats.get((tenant_id, workflow_id))
    now = time.monotonic()
    if cached is not None and now - cached[0] < STATS_TTL_SECONDS:
        return cached[1]
    # One fetch per workflow at a time: when the entry expires under load, the requests that
    # find it stale share the fetch in flight instead of each sending two visibility calls (at
    # 50 clients they exhausted the namespace's visibility rate limit).
    key = (asyncio.get_running_loop(), tenant_id, workflow_id)
    fetch = _stats_fetches.get(key)
    if fetch is None:
        fetch = asyncio.ensure_future(_fetch_stats(client, tenant_id=tenant_id, workflow_id=workflow_id))
        _stats_fetches[key] = fetch
        fetch.add_done_callback(lambda _: _stats_fetches.pop(key, None))
    stats = await asyncio.shield(fetch)
    if stats["total_runs"] is not None:
        _stats.put((tenant_id, workflow_id), (now, stats))
    return stats


async def _fetch_stats(client: Client, *, tenant_id: str, workflow_id: str) -> dict[str, Any]:
    query = f"RelayTenant = '{tenant_id}' AND RelayWorkflowId = '{workflow_id}' AND RelayTriggerType != 'test'"
    try:
        counts = await client.count_workflows(f"{query} GROUP BY ExecutionStatus")
        last_run_at = None
        async for execution in client.list_workflows(query, limit=1):
            last_run_at = execution.start_time
    except RPCError:
        return {"total_runs": None, "success_count": None, "failure_count": None, "last_run_at": None}
    by_status = {group.group_values[0]: group.count for group in counts.groups}
    names = temporal.VISIBILITY_NAMES
    return {"total_runs": counts.count, "success_count": by_status.get(names[Status.COMPLETED], 0),
            "failure_count": by_status.get(names[Status.FAILED], 0) + by_status.get(names[Status.TIMED_OUT], 0),
            "last_run_at": last_run_at, "last_triggered_at": last_run_at}
