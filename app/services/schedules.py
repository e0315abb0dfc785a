"""Schedule triggers (SPEC §2.2): one Temporal Schedule per workflow whose active trigger is "schedule".

`sync_schedule` makes Temporal match the database on every create, PATCH, publish and delete.
Create, PATCH and publish call it through `follower` inside their transaction, after the rows
are flushed and before the commit, so a Temporal that is down answers 503 and stores nothing;
delete deletes the schedule first. It creates or replaces the schedule (spec, overlap policy,
and the RunInput snapshot of the active version), pauses it while the workflow is disabled,
and deletes it when the workflow is gone or no longer scheduled. The circuit breaker pauses
it (`triggering.trip` calls `pause_on_trip`).

Each scheduled run's Temporal id is `<tenant>:inst_s<workflow hex>-<schedule time>` (Temporal
appends the time), so its instance id is `inst_s…-2026-11-22T17:50:00Z`. A scheduled run takes
its circuit-breaker slot itself, in the `admit_scheduled_run` activity, since no API request
starts it.

Missed fire times (Temporal or the workers down) are caught up for `CATCHUP_WINDOW` only;
older ones are skipped rather than run late in a burst.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import structlog
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from app.config import Settings
from app.db.repo import workflows as workflow_rows
from app.db.tables import Workflow, WorkflowVersion
from app.services.definitions import without_secrets
from app.services.errors import TemporalUnavailable
from app.services.tenant_names import tenant_name
from app.temporal import (
    RELAY_WORKFLOW,
    SA_TENANT,
    SA_WORKFLOW_ID,
    run_summary,
    search_attributes,
    temporal_workflow_id,
)
from workflows.definition import Definition
from workflows.durations import parse_duration
from workflows.flow import priority_of, run_priority
from workflows.models import RunInput, TriggerInfo

log = structlog.get_logger("relay.schedules")

OVERLAP = {
    "skip": ScheduleOverlapPolicy.SKIP,
    "buffer_one": ScheduleOverlapPolicy.BUFFER_ONE,
    "allow_all": ScheduleOverlapPolicy.ALLOW_ALL,
}
CATCHUP_WINDOW = timedelta(hours=1)
_UNAVAILABLE = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)


def schedule_id(tenant_id: str, workflow_id: str) -> str:
    return f"{tenant_id}:sched:{workflow_id}"


def scheduled_instance_prefix(workflow_id: str) -> str:
    """The instance id a schedule gives its runs, before Temporal appends the schedule time."""
    return f"inst_s{workflow_id.removeprefix('wf_')}"


def follower(client: Client, settings: Settings, session: AsyncSession, *,
             was_trigger: str | None) -> Callable[[Workflow], Awaitable[None]]:
    """What create, PATCH and publish run before they commit: the schedule follows the row when the
    workflow is or was schedule-triggered. Inside the transaction, so a Temporal that is down rolls
    the change back (503) instead of leaving a workflow without its schedule."""
    async def sync(workflow: Workflow) -> None:
        if "schedule" in (was_trigger, workflow.trigger_type):
            await sync_schedule(client, settings, session, workflow=workflow)
    return sync


async def sync_schedule(client: Client, settings: Settings, session: AsyncSession, *, workflow: Workflow) -> None:
    """Create, replace, pause or delete the workflow's Temporal Schedule so that it matches the database."""
    version = None
    if workflow.active_version is not None:
        version = await workflow_rows.get_version(session, tenant_id=workflow.tenant_id, workflow_id=workflow.id,
                                          number=workflow.active_version)
    if version is None or version.definition.get("trigger_type") != "schedule":
        await delete_schedule(client, workflow=workflow)
        return
    schedule = build_schedule(settings, workflow=workflow, version=version,
                              tenant_name=await tenant_name(session, workflow.tenant_id))
    sid = schedule_id(workflow.tenant_id, workflow.id)
    try:
        try:
            await client.create_schedule(sid, schedule, search_attributes=TypedSearchAttributes([
                SearchAttributePair(SA_TENANT, workflow.tenant_id),
                SearchAttributePair(SA_WORKFLOW_ID, workflow.id)]))
            log.info("schedule.created", schedule_id=sid, version=version.version_number)
        except ScheduleAlreadyRunningError:
            await client.get_schedule_handle(sid).update(lambda _: ScheduleUpdate(schedule=schedule))
            log.info("schedule.updated", schedule_id=sid, version=version.version_number,
                     paused=schedule.state.paused)
    except RPCError as error:
        raise _unavailable(error) from None


def build_schedule(settings: Settings, *, workflow: Workflow, version: WorkflowVersion,
                   tenant_name: str | None = None) -> Schedule:
    config: dict[str, Any] = version.definition.get("trigger_configuration") or {}
    if config.get("cron"):
        spec = ScheduleSpec(cron_expressions=[config["cron"]], time_zone_name=config.get("timezone") or "UTC")
    else:
        spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=parse_duration(config["interval"]))])
    instance_id = scheduled_instance_prefix(workflow.id)
    run = RunInput(
        tenant_id=workflow.tenant_id, tenant_name=tenant_name, instance_id=instance_id, workflow_id=workflow.id,
        workflow_name=workflow.name, version=version.version_number,
        definition=Definition.model_validate(without_secrets(version.definition)),
        trigger=TriggerInfo(type="schedule", data=dict(config)),
    )
    action = ScheduleActionStartWorkflow(
        RELAY_WORKFLOW, run, id=temporal_workflow_id(workflow.tenant_id, instance_id),
        task_queue=settings.task_queue,
        typed_search_attributes=search_attributes(
            tenant_id=workflow.tenant_id, workflow_id=workflow.id, version=version.version_number,
            trigger_type="schedule", entity_id=None),
        priority=run_priority(workflow.tenant_id, priority_of(run.definition.flow_control)),
        static_summary=run_summary(name=workflow.name, workflow_id=workflow.id, version=version.version_number),
    )
    paused = not workflow.enabled
    return Schedule(
        action=action, spec=spec,
        policy=SchedulePolicy(overlap=OVERLAP[config.get("overlap") or "skip"], catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(paused=paused, note=(workflow.disabled_reason or "disabled") if paused else None),
    )


async def delete_schedule(client: Client, *, workflow: Workflow) -> None:
    """Delete the workflow's schedule if it has one; runs it already started go on."""
    sid = schedule_id(workflow.tenant_id, workflow.id)
    try:
        await client.get_schedule_handle(sid).delete()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return
        raise _unavailable(error) from None
    log.info("schedule.deleted", schedule_id=sid)


async def pause_on_trip(client: Client, settings: Settings, workflow: Workflow) -> None:
    """The breaker tripped: pause the schedule (re-enabling by PATCH unpauses it)."""
    if workflow.trigger_type != "schedule":
        return
    sid = schedule_id(workflow.tenant_id, workflow.id)
    try:
        await client.get_schedule_handle(sid).pause(note="circuit_breaker")
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:  # not a scheduled workflow: nothing to pause
            raise
        return
    log.info("schedule.paused", schedule_id=sid, reason="circuit_breaker")


def _unavailable(error: RPCError) -> Exception:
    if error.status in _UNAVAILABLE:
        return TemporalUnavailable("Temporal is not reachable; the schedule was not updated, try again")
    return error

