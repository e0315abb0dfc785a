"""Instance lists (Temporal visibility), step timelines (the Temporal history), and retries."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecution, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from app.config import Settings
from app.services.errors import InvalidInput, NotFound, temporal_error
from app.services.runs import _describe, get_instance
from app.temporal import (
    ENDED_BADLY,
    SA_TRIGGER_TYPE,
    SA_WORKFLOW_ID,
    SA_WORKFLOW_VERSION,
    STATUS_QUERY,
    run_state,
    status_name,
    ui_url,
)
from workflows.models import RunInput
from workflows.problems import shorten

_SAFE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def _bad(path: str, message: str) -> InvalidInput:
    return InvalidInput("the query is not valid", details=[{"path": path, "message": message}])


def visibility_query(tenant_id: str, *, workflow_id: str | None, status: str | None, trigger_type: str | None,
                     started_after: datetime | None, started_before: datetime | None,
                     entity_id: str | None) -> str:
    """A visibility query of validated values only: nothing a caller sends is pasted in raw."""
    clauses = [f"RelayTenant = '{tenant_id}'", "RelayTriggerType != 'test'"]
    for path, value, attribute in (("workflow_id", workflow_id, "RelayWorkflowId"),
                                   ("trigger_type", trigger_type, "RelayTriggerType"),
                                   ("entity_id", entity_id, "RelayEntityId")):
        if value is not None:
            if not _SAFE.match(value):
                raise _bad(path, f"letters, digits and _ . : - only; got {shorten(value)}")
            clauses.append(f"{attribute} = '{value}'")
    if status is not None:
        if status not in STATUS_QUERY:
            raise _bad("status", f"one of {', '.join(STATUS_QUERY)}; got {shorten(status)}")
        clauses.append(STATUS_QUERY[status])
    if started_after is not None:
        clauses.append(f"StartTime >= '{started_after.isoformat()}'")
    if started_before is not None:
        clauses.append(f"StartTime < '{started_before.isoformat()}'")
    return " AND ".join(clauses)


_MAC_BYTES = 16
MAX_CURSOR = 4096


def _cursor_mac(settings: Settings, query: str, token: bytes) -> bytes:
    """Binds a page token to the visibility query it continues (tenant and filters included)."""
    key = hashlib.sha256(b"relay instance cursor\0" + (settings.secret_key or "").encode()).digest()
    return hmac.new(key, query.encode() + b"\0" + token, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(settings: Settings, query: str, token: bytes | None) -> str | None:
    return base64.urlsafe_b64encode(_cursor_mac(settings, query, token) + token).decode() if token else None


def decode_cursor(settings: Settings, query: str, cursor: str | None) -> bytes | None:
    """The page token of a cursor this API issued for this query; anything else is a 400 before
    Temporal is asked (which answers a garbled token with retries and an internal error)."""
    if not cursor:
        return None
    try:
        raw = base64.b64decode(cursor.encode()[:MAX_CURSOR + 1], altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    mac, token = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if len(cursor) > MAX_CURSOR or not token or not hmac.compare_digest(mac, _cursor_mac(settings, query, token)):
        raise _bad("cursor", f"not a cursor this API returned for this query; got {shorten(cursor)}")
    return token


def summary(settings: Settings, execution: WorkflowExecution) -> dict[str, Any]:
    attributes = execution.typed_search_attributes
    return {
        "id": execution.id.partition(":")[2],
        "status": status_name(execution.status, attributes),
        "workflow_id": attributes.get(SA_WORKFLOW_ID),
        "workflow_version": attributes.get(SA_WORKFLOW_VERSION),
        "trigger_type": attributes.get(SA_TRIGGER_TYPE),
        "started_at": execution.start_time,
        "closed_at": execution.close_time,
        "temporal": {"workflow_id": execution.id, "run_id": execution.run_id,
                     "ui_url": ui_url(settings, execution.id, execution.run_id)},
    }


async def list_instances(client: Client, settings: Settings, *, tenant_id: str, limit: int, cursor: str | None,
                         **filters: Any) -> tuple[list[dict[str, Any]], str | None]:
    query = visibility_query(tenant_id, **filters)
    try:
        iterator = client.list_workflows(query, page_size=limit, next_page_token=decode_cursor(settings, query, cursor))
        await iterator.fetch_next_page()
    except RPCError as error:
        if error.status == RPCStatusCode.INVALID_ARGUMENT:
            raise _bad("cursor", f"not a cursor this API returned; got {shorten(cursor)}") from None
        raise temporal_error(error) from None
    page = [summary(settings, execution) for execution in iterator.current_page or []]
    return page, encode_cursor(settings, query, iterator.next_page_token)


async def run_input(client: Client, handle: WorkflowHandle[Any, Any]) -> RunInput:
    """The input the instance started with (its first history event)."""
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [value] = await client.data_converter.decode(started.input.payloads, [RunInput])
    return value


async def timeline(client: Client, settings: Settings, *, tenant_id: str, instance_id: str) -> dict[str, Any]:
    """Each step (from the run's records) with what Temporal recorded for it: scheduling, each
    attempt that reached the history, timers, signals and the run's own transitions."""
    instance = await get_instance(client, settings, tenant_id=tenant_id, instance_id=instance_id)
    temporal = instance["temporal"]  # the run get_instance described: no second describe()
    history = await client.get_workflow_handle(temporal["workflow_id"], run_id=temporal["run_id"]).fetch_history()
    scheduled: dict[int, str | None] = {}
    local_attempts: dict[str, int] = {}
    events: list[dict[str, Any]] = []
    for event in history.events:
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
        entry: dict[str, Any] = {"event_id": event.event_id, "time": event.event_time.ToDatetime().isoformat() + "Z",
                                 "type": kind}
        if event.HasField("activity_task_scheduled_event_attributes"):
            attributes = event.activity_task_scheduled_event_attributes
            step = await _step_of(client, attributes.input.payloads)
            scheduled[event.event_id] = step
            entry.update(step=step, action=attributes.activity_type.name)
        elif event.HasField("activity_task_started_event_attributes"):
            started = event.activity_task_started_event_attributes
            entry.update(step=scheduled.get(started.scheduled_event_id), attempt=started.attempt)
            if started.HasField("last_failure"):
                entry["last_failure"] = started.last_failure.message
        elif event.HasField("activity_task_completed_event_attributes"):
            entry["step"] = scheduled.get(event.activity_task_completed_event_attributes.scheduled_event_id)
        elif event.HasField("activity_task_failed_event_attributes"):
            failed = event.activity_task_failed_event_attributes
            entry.update(step=scheduled.get(failed.scheduled_event_id), error=failed.failure.message)
        elif event.HasField("marker_recorded_event_attributes"):
            marker = _local_step(event.marker_recorded_event_attributes)
            if marker is None:
                continue  # a patch marker: the worker's bookkeeping
            local_attempts[marker["step"]] = local_attempts.get(marker["step"], 0) + 1
            entry.update(type="local_activity", attempt=local_attempts[marker["step"]], **marker)
        elif event.HasField("timer_started_event_attributes"):
            timeout = event.timer_started_event_attributes.start_to_fire_timeout
            entry["duration_seconds"] = timeout.ToTimedelta().total_seconds()
        elif event.HasField("workflow_execution_signaled_event_attributes"):
            entry["signal"] = event.workflow_execution_signaled_event_attributes.signal_name
        elif kind.endswith(("task_scheduled", "task_started", "task_completed")) and kind.startswith("workflow_task"):
            continue  # the worker's bookkeeping, not the run's story
        events.append(entry)
    return {"id": instance_id, "status": instance["status"], "steps": instance["steps"], "events": events,
            "temporal": instance["temporal"]}


def _local_step(marker: Any) -> dict[str, Any] | None:
    """A local step's attempt (a `core_local_activity` marker): its step, action and outcome."""
    if marker.marker_name != "core_local_activity" or "data" not in marker.details:
        return None
    try:
        data = json.loads(marker.details["data"].payloads[0].data)
    except (ValueError, IndexError):
        return None
    found = {"step": data.get("activity_id"), "action": data.get("activity_type")}
    if marker.HasField("failure"):
        found["error"] = marker.failure.message
    return found


async def _step_of(client: Client, payloads: Any) -> str | None:
    from activities.models import ActionInput

    try:
        [value] = await client.data_converter.decode(payloads, [ActionInput])
        return value.step_id
    except Exception:  # noqa: BLE001 - not an action (e.g. the admission check)
        return None


async def retry_instance(session: AsyncSession, client: Client, settings: Settings, *, tenant_id: str, instance_id: str,
                         version: str | int | None, idempotency_key: str | None) -> dict[str, Any]:
    """A new instance with the same trigger that reuses the steps that completed and resumes at the failed one."""
    from app.db.repo import workflows as workflow_rows
    from app.services import triggering

    handle, description = await _describe(client, tenant_id, instance_id)
    if description.status not in ENDED_BADLY:
        status = status_name(description.status)
        raise InvalidInput(f"only a failed instance can be retried; this one is {status}",
                           details=[{"path": "instance", "message": f"status is {status}"}])
    earlier = await run_input(client, handle)
    state = await run_state(handle)
    resume = {step_id: record for step_id, record in state.steps.items()
              if record.status == "completed" or (record.type == "wait_for_event" and record.branch)}
    workflow = await workflow_rows.get_workflow(session, tenant_id=tenant_id, workflow_id=earlier.workflow_id)
    if workflow is None:
        raise NotFound("workflow", "the instance's workflow was deleted")
    number: int | None = earlier.version
    if version == "latest":
        number = workflow.active_version
        latest = None if number is None else await workflow_rows.get_version(session, tenant_id=tenant_id,
                                                                              workflow_id=workflow.id, number=number)
        known = _block_ids(latest.definition.get("workflow_blocks", [])) if latest else set()
        if not set(resume) <= known:
            raise InvalidInput("the active version does not have every completed step",
                               details=[{"path": "version",
                                         "message": f"missing steps: {sorted(set(resume) - known)}"}])
    elif isinstance(version, int):
        number = version
    return await triggering.start(session, client, settings, workflow=workflow, trigger=earlier.trigger,
                                  version_number=number, depth=earlier.depth, idempotency_key=idempotency_key,
                                  resume=resume, retry_of=instance_id,
                                  retry_root=earlier.retry_root or instance_id)


def _block_ids(blocks: list[dict[str, Any]]) -> set[str | None]:
    ids: set[str | None] = set()
    for block in blocks:
        ids.add(block.get("id"))
        for children in (block.get("branches") or {}).values():
            ids |= _block_ids(children)
    return ids
