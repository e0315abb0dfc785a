"""Data that does not grow forever: a maintenance Temporal Schedule prunes rows past their window.

    await ensure_schedule(client, settings)   # worker and `relay dev` start-up; idempotent

The schedule (`relay-maintenance-<task queue>`, every hour) starts `RelayMaintenance`
(workflows/maintenance.py), whose one activity `prune_expired` calls `prune` here:

| rows | kept |
|---|---|
| idempotency records | `IDEMPOTENCY_TTL` (24 h, SPEC §3: a key is remembered for 24 h) |
| circuit-breaker and tenant day counters | today and yesterday (UTC); only today's count is read |
| alerts | `ALERT_RETENTION` (30 days) |

It also reconciles schedule triggers with the database (`reconcile_schedules`): a
schedule-triggered workflow without its Temporal Schedule gets it, and a schedule of one of this
database's tenants whose workflow is gone or no longer scheduled is deleted once it is older
than `ORPHAN_AFTER` (a create in progress syncs its schedule before its commit).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
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
)
from temporalio.service import RPCError, RPCStatusCode

from app.config import Settings
from app.db.repo import maintenance as rows
from app.services import schedules

log = structlog.get_logger("relay.maintenance")
IDEMPOTENCY_TTL = timedelta(hours=24)
COUNTER_DAYS = 2
ALERT_RETENTION = timedelta(days=30)
EVERY = timedelta(hours=1)
WORKFLOW = "RelayMaintenance"
ORPHAN_AFTER = timedelta(minutes=10)


def schedule_id(settings: Settings) -> str:
    return f"relay-maintenance-{settings.task_queue}"


async def prune(sessions: async_sessionmaker[AsyncSession], now: datetime | None = None) -> dict[str, int]:
    now = now or datetime.now(UTC)
    oldest_day = (now - timedelta(days=COUNTER_DAYS - 1)).date().isoformat()
    async with sessions() as session:
        deleted = await rows.prune(session, records_before=now - IDEMPOTENCY_TTL, counters_before=oldest_day,
                                   alerts_before=now - ALERT_RETENTION)
    log.info("maintenance.pruned", **deleted)
    return deleted


async def ensure_schedule(client: Client, settings: Settings) -> bool:
    """Create the maintenance schedule unless it exists; True when this call created it."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(WORKFLOW, id=f"{schedule_id(settings)}-run", task_queue=settings.task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=EVERY)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(schedule_id(settings), schedule)
    except ScheduleAlreadyRunningError:
        return False
    log.info("maintenance.schedule_created", schedule_id=schedule_id(settings), every=str(EVERY))
    return True


async def reconcile_schedules(sessions: async_sessionmaker[AsyncSession], client: Client, settings: Settings,
                              orphan_after: timedelta = ORPHAN_AFTER) -> dict[str, int]:
    """Temporal's schedule triggers made to match the database again; {"created": n, "deleted": n}."""
    done = {"created": 0, "deleted": 0}
    async with sessions() as session:
        tenants = await rows.tenant_ids(session)
        wanted = {w.id: w for w in await rows.scheduled_workflows(session)}
        seen: set[str] = set()
        async for entry in await client.list_schedules():
            tenant_id, marker, workflow_id = entry.id.partition(":sched:")
            if not marker or tenant_id not in tenants:
                continue  # not a schedule trigger, or another deployment's in a shared namespace
            seen.add(workflow_id)
            if workflow_id not in wanted and await _delete_orphan(client, entry.id, orphan_after):
                done["deleted"] += 1
        for workflow_id in wanted.keys() - seen:  # visibility may lag a fresh one: syncing again is harmless
            await schedules.sync_schedule(client, settings, session, workflow=wanted[workflow_id])
            done["created"] += 1
    if any(done.values()):
        log.warning("maintenance.schedules_reconciled", **done)
    return done


async def _delete_orphan(client: Client, sid: str, orphan_after: timedelta) -> bool:
    handle = client.get_schedule_handle(sid)
    try:
        described = await handle.describe()
        if datetime.now(UTC) - described.info.created_at < orphan_after:
            return False
        await handle.delete()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
