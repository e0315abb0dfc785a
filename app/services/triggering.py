"""Starting runs from any trigger, behind the circuit breaker (SPEC §3.1).

Every start (manual, webhook, event, threshold, schedule) first takes a slot from the
workflow's per-UTC-day counter with one conditional UPDATE, so the count is exact under
concurrency: of 50 racing triggers with a limit of 10, ten start and the rest are refused.
The start that would exceed the limit disables the workflow (`circuit_breaker`), pauses its
schedule, records an alert and posts it to the tenant's `alert` connection.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import structlog
from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from app.config import Settings
from app.db.writer import one_writer
from app.db.tables import Alert, TriggerCounter, Workflow, WorkflowVersion, utcnow
from app.errors import ApiError, not_found
from app.ids import new_id
from app.metrics import METRICS
from app.services import quotas, runs, schedules
from app.services.alerts import deliver_later
from app.services.tenant_names import tenant_name
from app.services.tenants import tenant_quotas
from app.temporal import temporal_workflow_id
from app.services import workflows as store
from workflows.models import TriggerInfo

log = structlog.get_logger("relay.triggering")


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


_SLOT_STATEMENTS: dict[str, Any] = {}


def _slot_statement(dialect: str) -> Any:
    """take_slot's upsert, built once per dialect (every trigger runs it; only parameters vary)."""
    if dialect not in _SLOT_STATEMENTS:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(TriggerCounter).values(workflow_id=bindparam("workflow_id"), day=bindparam("day"),
                                                  tenant_id=bindparam("tenant_id"), count=1)
        _SLOT_STATEMENTS[dialect] = statement.on_conflict_do_update(
            index_elements=["workflow_id", "day"], set_={"count": TriggerCounter.count + 1},
            where=TriggerCounter.count < bindparam("limit")).returning(TriggerCounter.count)
    return _SLOT_STATEMENTS[dialect]


async def take_slot(session: AsyncSession, *, workflow: Workflow, day: str | None = None) -> bool:
    """Count one start for today; False when the day's limit is reached (nothing counted then).

    One statement, exact under concurrency on SQLite and PostgreSQL alike: insert today's row
    with 1, or add 1 only while below the limit; no row touched means the limit is reached."""
    async with one_writer(session):
        counted = await _count_start(session, workflow=workflow, day=day or today())
        await session.commit()  # expire_on_commit is off: the caller's objects stay loaded
    return counted


async def _count_start(session: AsyncSession, *, workflow: Workflow, day: str) -> bool:
    limit = workflow.max_triggers_per_day
    if limit is None:
        return True
    params = {"workflow_id": workflow.id, "day": day, "tenant_id": workflow.tenant_id, "limit": limit}
    return (await session.exec(_slot_statement(session.bind.dialect.name), params=params)).first() is not None


BREAKER = "circuit_breaker"


async def admit(session: AsyncSession, client: Client, settings: Settings, *, workflow: Workflow,
                temporal_id: str, day: str) -> quotas.Held:
    """Count one start of `workflow` against its tenant's quotas and its circuit breaker, in one
    transaction: all of them, or (refused: 429 quota_exceeded, or the breaker trips) none."""
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
                await _roll_back(session, workflow)
            except BaseException:
                await _roll_back(session, workflow)
                raise
        # at the running limit: free the slots of runs that have ended since, and try once more
        if refused != quotas.RUNNING or attempt or not await quotas.reconcile(
                session, client, tenant_id=workflow.tenant_id):
            break
    if refused == BREAKER:
        await trip(session, client, settings, workflow=workflow)
        raise ApiError("workflow_disabled", f"the workflow reached max_triggers_per_day "
                       f"({workflow.max_triggers_per_day}) and was disabled by its circuit breaker")
    retry_after = quotas.seconds_to_midnight() if refused == quotas.RUNS_PER_DAY else 5
    raise quotas.exceeded(refused, limits[refused], retry_after=retry_after)


async def _roll_back(session: AsyncSession, workflow: Workflow) -> None:
    await session.rollback()
    if workflow in session:  # a rollback expires the session's objects; the caller reads this one on
        await session.refresh(workflow)


async def start(session: AsyncSession, client: Client, settings: Settings, *, workflow: Workflow,
                trigger: TriggerInfo, version_number: int | None = None, depth: int = 0,
                idempotency_key: str | None = None, version: WorkflowVersion | None = None,
                **retry: Any) -> dict[str, Any]:
    """Start one run of `workflow` (its active version unless one is named), or refuse it."""
    if not workflow.enabled:
        raise ApiError("workflow_disabled", f"the workflow is disabled ({workflow.disabled_reason or 'by its owner'})")
    number = version_number or workflow.active_version
    if number is None:
        raise ApiError("validation_error", "the workflow has no published version; give one",
                       details=[{"path": "version", "message": "required while no version is published"}])
    if version is None or version.version_number != number:
        version = await store.get_version(session, tenant_id=workflow.tenant_id, workflow_id=workflow.id,
                                          number=number)
    if version is None:
        raise not_found("version")
    day = today()  # the day this start is counted on, also if it is given back after midnight
    instance_id = runs.instance_id_for(idempotency_key)
    held = await admit(session, client, settings, workflow=workflow, day=day,
                       temporal_id=temporal_workflow_id(workflow.tenant_id, instance_id))
    try:
        instance = await runs.start_run(client, settings, workflow=workflow, version=version, trigger=trigger,
                                        depth=depth, idempotency_key=idempotency_key, instance_id=instance_id,
                                        tenant_name=await tenant_name(session, workflow.tenant_id), **retry)
    except Exception:
        await release(session, workflow=workflow, held=held)  # nothing started: the counts go back
        raise
    if instance.pop(runs.EXISTING, False):
        await release(session, workflow=workflow, held=held, keep_slot=True)  # counted when it first started
    else:
        await quotas.move_slot(session, held, to=temporal_workflow_id(workflow.tenant_id, instance["id"]))
        METRICS.runs_started.labels(trigger.type).inc()
    return instance


async def release(session: AsyncSession, *, workflow: Workflow, held: quotas.Held, keep_slot: bool = False) -> None:
    """Give back one start's counts (quotas and breaker) in one transaction."""
    # (start_run does no database work, so the session is in a clean state here)
    async with one_writer(session):
        await quotas.give_back(session, held, keep_slot=keep_slot)
        if workflow.max_triggers_per_day is not None:
            await session.exec(update(TriggerCounter).where(
                TriggerCounter.workflow_id == workflow.id, TriggerCounter.day == held.day, TriggerCounter.count > 0)
                .values(count=TriggerCounter.count - 1))
        await session.commit()


async def trip(session: AsyncSession, client: Client, settings: Settings, *, workflow: Workflow) -> None:
    result = await session.exec(
        update(Workflow).where(Workflow.id == workflow.id, Workflow.tenant_id == workflow.tenant_id,
                               Workflow.enabled.is_(True))
        .values(enabled=False, disabled_reason="circuit_breaker", updated_at=utcnow()))
    await session.commit()
    if result.rowcount != 1:
        return  # another request tripped it first: one alert only
    workflow.enabled, workflow.disabled_reason = False, "circuit_breaker"
    alert = Alert(id=new_id("alert"), tenant_id=workflow.tenant_id, workflow_id=workflow.id, kind="circuit_breaker",
                  message=f"Workflow {workflow.name!r} was disabled: it reached max_triggers_per_day "
                          f"({workflow.max_triggers_per_day}) on {today()} (UTC).",
                  details={"max_triggers_per_day": workflow.max_triggers_per_day, "day": today()})
    session.add(alert)
    await session.commit()
    log.warning("circuit_breaker.tripped", workflow_id=workflow.id, tenant_id=workflow.tenant_id)
    METRICS.breaker_trips.inc()
    try:
        await schedules.pause_on_trip(client, settings, workflow)
    except Exception:  # noqa: BLE001 - the breaker holds in the database either way
        log.exception("circuit_breaker.pause_failed", workflow_id=workflow.id)
    deliver_later(settings, session.bind, alert)


async def reset(session: AsyncSession, *, workflow: Workflow) -> None:
    """Re-enabling resets the breaker: today's count starts again from zero."""
    await session.exec(update(TriggerCounter).where(TriggerCounter.workflow_id == workflow.id,
                                                    TriggerCounter.day == today()).values(count=0))
    await session.commit()
