"""Starting runs from any trigger, behind the circuit breaker (SPEC §3.1).

Every start (manual, webhook, event, threshold, schedule) of an enabled workflow of a tenant that
is not disabled (SPEC §3.3) first takes a slot from the
workflow's per-UTC-day counter with one conditional UPDATE, so the count is exact under
concurrency: of 50 racing triggers with a limit of 10, ten start and the rest are refused.
The start that would exceed the limit disables the workflow (`circuit_breaker`), pauses its
schedule, records an alert and posts it to the tenant's `alert` connection.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import structlog
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from app.config import Settings
from app.db.repo import alerts as alert_rows
from app.db.repo import counters
from app.db.repo import tenants as tenant_rows
from app.db.repo import workflows as workflow_rows
from app.db.tables import Alert, Workflow, WorkflowVersion
from app.ids import new_id
from app.prometheus import PROMETHEUS
from app.services import runs, schedules
from app.services.alerts import deliver_later
from app.services.errors import InvalidInput, NotFound, WorkflowDisabled
from app.services.tenant_names import tenant_name
from workflows.models import TriggerInfo

log = structlog.get_logger("relay.triggering")


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


async def take_slot(session: AsyncSession, *, workflow: Workflow, day: str | None = None) -> bool:
    """Count one start for today; False when the day's limit is reached (nothing counted then)."""
    limit = workflow.max_triggers_per_day
    if limit is None:
        return True
    return await counters.take_slot(session, tenant_id=workflow.tenant_id, workflow_id=workflow.id,
                                    day=day or today(), limit=limit)


async def start(session: AsyncSession, client: Client, settings: Settings, *, workflow: Workflow,
                trigger: TriggerInfo, version_number: int | None = None, depth: int = 0,
                idempotency_key: str | None = None, version: WorkflowVersion | None = None,
                **retry: Any) -> dict[str, Any]:
    """Start one run of `workflow` (its active version unless one is named), or refuse it."""
    if not workflow.enabled:
        raise WorkflowDisabled(f"the workflow is disabled ({workflow.disabled_reason or 'by its owner'})")
    if await tenant_rows.tenant_is_disabled(session, tenant_id=workflow.tenant_id):  # SPEC §3.3
        raise WorkflowDisabled("the workflow's tenant is disabled: its triggers start nothing")
    number = version_number or workflow.active_version
    if number is None:
        raise InvalidInput("the workflow has no published version; give one",
                           details=[{"path": "version", "message": "required while no version is published"}])
    if version is None or version.version_number != number:
        version = await workflow_rows.get_version(session, tenant_id=workflow.tenant_id, workflow_id=workflow.id,
                                          number=number)
    if version is None:
        raise NotFound("version")
    day = today()  # the day this start is counted on, also if it is given back after midnight
    if not await take_slot(session, workflow=workflow, day=day):
        await trip(session, client, settings, workflow=workflow)
        raise WorkflowDisabled(f"the workflow reached max_triggers_per_day "
                               f"({workflow.max_triggers_per_day}) and was disabled by its circuit breaker")
    try:
        instance = await runs.start_run(client, settings, workflow=workflow, version=version, trigger=trigger,
                                        depth=depth, idempotency_key=idempotency_key,
                                        tenant_name=await tenant_name(session, workflow.tenant_id), **retry)
    except Exception:
        await release_slot(session, workflow=workflow, day=day)  # nothing started: the slot goes back
        raise
    if instance.pop(runs.EXISTING, False):
        await release_slot(session, workflow=workflow, day=day)  # counted when it first started
    else:
        PROMETHEUS.runs_started.labels(trigger.type).inc()
    return instance


async def release_slot(session: AsyncSession, *, workflow: Workflow, day: str) -> None:
    if workflow.max_triggers_per_day is None:
        return
    # (start_run does no database work, so the session is in a clean state here)
    await counters.give_back(session, workflow_id=workflow.id, day=day)


async def trip(session: AsyncSession, client: Client, settings: Settings, *, workflow: Workflow) -> None:
    if not await workflow_rows.disable_if_enabled(session, tenant_id=workflow.tenant_id, workflow_id=workflow.id,
                                                  reason="circuit_breaker"):
        return  # another request tripped it first: one alert only
    workflow.enabled, workflow.disabled_reason = False, "circuit_breaker"
    alert = Alert(id=new_id("alert"), tenant_id=workflow.tenant_id, workflow_id=workflow.id, kind="circuit_breaker",
                  message=f"Workflow {workflow.name!r} was disabled: it reached max_triggers_per_day "
                          f"({workflow.max_triggers_per_day}) on {today()} (UTC).",
                  details={"max_triggers_per_day": workflow.max_triggers_per_day, "day": today()})
    await alert_rows.add_alert(session, alert=alert)
    log.warning("circuit_breaker.tripped", workflow_id=workflow.id, tenant_id=workflow.tenant_id)
    PROMETHEUS.breaker_trips.inc()
    try:
        await schedules.pause_on_trip(client, settings, workflow)
    except Exception:  # noqa: BLE001 - the breaker holds in the database either way
        log.exception("circuit_breaker.pause_failed", workflow_id=workflow.id)
    deliver_later(settings, session.bind, alert)


async def reset(session: AsyncSession, *, workflow: Workflow) -> None:
    """Re-enabling resets the breaker: today's count starts again from zero."""
    await counters.reset(session, workflow_id=workflow.id, day=today())
