"""Data that does not grow forever: a maintenance Temporal Schedule prunes rows past their window.

    await ensure_schedule(client, settings)   # worker and `relay dev` start-up; idempotent

The schedule (`relay-maintenance-<task queue>`, every hour) starts `RelayMaintenance`
(workflows/maintenance.py), whose one activity `prune_expired` calls `prune` here:

| rows | kept |
|---|---|
| idempotency records | `IDEMPOTENCY_TTL` (24 h, SPEC §3: a key is remembered for 24 h) |
| circuit-breaker and tenant day counters | today and yesterday (UTC); only today's count is read |
| alerts | `ALERT_RETENTION` (30 days) |
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

from app.config import Settings
from app.db.repo import maintenance as rows

log = structlog.get_logger("relay.maintenance")
IDEMPOTENCY_TTL = timedelta(hours=24)
COUNTER_DAYS = 2
ALERT_RETENTION = timedelta(days=30)
EVERY = timedelta(hours=1)
WORKFLOW = "RelayMaintenance"


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
