"""Starting runs from any trigger, behind the tenant's quotas (SPEC §3.3) and the circuit breaker (§3.1).

Every start (manual, webhook, event, threshold, retry here; schedule through app/services/admission.py)
of an enabled workflow of a tenant that is not disabled is admitted by `admit`: one transaction counts
it against the tenant's `max_runs_per_day` and `max_running_instances` (app/services/quotas.py) and
the workflow's per-UTC-day counter, each with one conditional statement, so the counts are exact under
concurrency: of 50 racing triggers with a limit of 10, ten start and the rest are refused, and a
refused start counts nothing. A quota refuses with 429 `quota_exceeded`; the start that would exceed
`max_triggers_per_day` disables the workflow (`circuit_breaker`), pauses its schedule, records an
alert and posts it to the tenant's `alert` connection.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from app.config import Settings
from app.db.repo import alerts as alert_rows
from app.db.repo import counters, start_rows
from app.db.repo import tenants as tenant_rows
from app.db.repo import workflows as workflow_rows
from app.db.repo.start_rows import WorkflowCache
from app.db.tables import Alert, Workflow, WorkflowVersion
from app.db.writer import one_writer
from app.ids import new_id
from app.prometheus import PROMETHEUS
from app.services import quotas, runs, schedules
from app.services.alerts import deliver_later
from app.services.errors import InvalidInput, NotFound, WorkflowDisabled
from app.services.tenants import effective_quotas, tenant_quotas
from app.temporal import temporal_workflow_id
from workflows.models import TriggerInfo

log = structlog.get_logger("relay.triggering")


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


async def take_slot(session: AsyncSession, *, workflow: Workflow, day: str | None = None) -> bool:
    """Count one start for today; False when the day's limit is reached (nothing counted then)."""
    limit = workflow.max_triggers_per_day
    if limit is None:
        return True
    return await counters.take_slot(session, tenant_id=workflow.tenant_id, workflow_id=workflow.id,
                                    day=day or today(), limit=limit)


BREAKER = "circuit_breaker"


async def admit(session: AsyncSession, client: Client, settings: Settings, *, workflow: Workflow,
                temporal_id: str, day: str, limits: dict[str, Any] | None = None) -> quotas.Held:
    """Count one start of `workflow` against its tenant's quotas and its circuit breaker, in one
    transaction: all of them, or (refused: 429 quota_exceeded, or the breaker trips) none."""
    if limits is None:  # `start` read the tenant row already
        limits = await tenant_quotas(session, tenant_id=workflow.tenant_id)
    refused: str | None = None
    for attempt in range(2):
        async with one_writer(session):
            try:
                held, refused = await quotas.take(session, tenant_id=workflow.tenant_id, temporal_id=temporal_id,
                                                  day=day, limits=limits)
                if refused is None and not await _count_start(session, workflow=workflow, day=day):
                    refused = BREAKER
                if refused is None:
                    await session.commit()
                    return held
                # refused: undo what this transaction counted and end it (a rollback would expire
                # the caller's loaded rows, which it reads on)
                await quotas.give_back(session, held)
                await session.commit()
            except BaseException:
                await _roll_back(session, workflow)
                raise
        # at the running limit: free the slots of runs that have ended since, and try once more
        if refused != quotas.RUNNING or attempt or not await quotas.reconcile(
                session, client, tenant_id=workflow.tenant_id):
            break
    if refused == BREAKER:
        await trip(session, client, settings, workflow=workflow)
        raise WorkflowDisabled(f"the workflow reached max_triggers_per_day "
                               f"({workflow.max_triggers_per_day}) and was disabled by its circuit breaker")
    retry_after = quotas.seconds_to_midnight() if refused == quotas.RUNS_PER_DAY else 5
    limit = limits.get(refused) if refused else None
    assert refused is not None and limit is not None  # a quota refused the start: it has a limit
    raise quotas.QuotaExceeded(refused, limit, retry_after=retry_after)


async def _count_start(session: AsyncSession, *, workflow: Workflow, day: str) -> bool:
    limit = workflow.max_triggers_per_day
    if limit is None:
        return True
    return await counters.count_start(session, tenant_id=workflow.tenant_id, workflow_id=workflow.id, day=day,
                                      limit=limit)


async def _roll_back(session: AsyncSession, workflow: Workflow) -> None:
    await session.rollback()
    if workflow in session:  # a rollback expires the session's objects; the caller may read this one
        await session.refresh(workflow)


async def start(session: AsyncSession, client: Client, settings: Settings, *, workflow: Workflow,
                trigger: TriggerInfo, version_number: int | None = None, depth: int = 0,
                idempotency_key: str | None = None, version: WorkflowVersion | None = None,
                cache: WorkflowCache | None = None, **retry: Any) -> dict[str, Any]:
    """Start one run of `workflow` (its active version unless one is named), or refuse it; with a
    `cache` (the API's), the version may be one read before while nothing changed since."""
    if not workflow.enabled:
        raise WorkflowDisabled(f"the workflow is disabled ({workflow.disabled_reason or 'by its owner'})")
    # one read of the tenant row (none when the request's key lookup joined it): whether it is
    # disabled, its quotas, its name for {{account.name}}
    tenant = await tenant_rows.tenant_for_start(session, tenant_id=workflow.tenant_id)
    if tenant is None or tenant.disabled:  # SPEC §3.3
        raise WorkflowDisabled("the workflow's tenant is disabled: its triggers start nothing")
    account_name, limits = tenant.name, effective_quotas(tenant.quotas)
    number = version_number or workflow.active_version
    if number is None:
        raise InvalidInput("the workflow has no published version; give one",
                           details=[{"path": "version", "message": "required while no version is published"}])
    if version is None or version.version_number != number:
        version = await start_rows.version_for_start(session, tenant_id=workflow.tenant_id,
                                                     workflow_id=workflow.id, number=number, cache=cache)
    if version is None:
        raise NotFound("version")
    day = today()  # the day this start is counted on, also if it is given back after midnight
    instance_id = runs.instance_id_for(idempotency_key)
    held = await admit(session, client, settings, workflow=workflow, day=day,
                       temporal_id=temporal_workflow_id(workflow.tenant_id, instance_id),
                       limits=limits)
    try:
        instance = await runs.start_run(client, settings, workflow=workflow, version=version, trigger=trigger,
                                        depth=depth, idempotency_key=idempotency_key, instance_id=instance_id,
                                        tenant_name=account_name, **retry)
    except Exception:
        await release(session, workflow=workflow, held=held)  # nothing started: the counts go back
        raise
    if instance.pop(runs.JOINED, False):
        await release(session, workflow=workflow, held=held)  # collapsed into a run already counted (§2.7)
    elif instance.pop(runs.EXISTING, False):
        await release(session, workflow=workflow, held=held, keep_slot=True)  # counted when it first started
    else:
        await quotas.move_slot(session, held, to=temporal_workflow_id(workflow.tenant_id, instance["id"]))
        PROMETHEUS.runs_started.labels(trigger.type).inc()
    return instance


async def release(session: AsyncSession, *, workflow: Workflow, held: quotas.Held, keep_slot: bool = False) -> None:
    """Give back one start's counts (quotas and breaker) in one transaction."""
    # (start_run does no database work, so the session is in a clean state here)
    async with one_writer(session):
        await quotas.give_back(session, held, keep_slot=keep_slot)
        if workflow.max_triggers_per_day is not None:
            await counters.uncount_start(session, workflow_id=workflow.id, day=held.day)
        await session.commit()


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
    except Exception:
        log.exception("circuit_breaker.pause_failed", workflow_id=workflow.id)
    assert isinstance(session.bind, AsyncEngine)  # sessions are made by app/db/session.py's sessionmaker
    deliver_later(settings, session.bind, alert)


async def reset(session: AsyncSession, *, workflow: Workflow) -> None:
    """Re-enabling resets the breaker: today's count starts again from zero."""
    await counters.reset(session, workflow_id=workflow.id, day=today())
