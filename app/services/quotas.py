"""Tenant quotas (SPEC §3.3): `max_runs_per_day`, `max_running_instances`, `max_workflows`.

A start takes its quota counts in the same transaction as its circuit-breaker count
(`app/services/triggering.py` `admit`), each with one conditional statement, so they are exact
under concurrency and a refused start stores nothing. Running instances are counted by slot
rows, one per run (its Temporal workflow id), taken at start; a slot is freed when Temporal says
its run has closed. That check (`reconcile`) runs only when a start finds the tenant at its
limit, and asks Temporal's DescribeWorkflowExecution, which reads the run's own state (not
visibility, which lags), so the count is exact without the interpreter reporting its end: a
terminated, timed-out or cancelled run frees its slot as surely as a completed one
(docs/decisions.md, "Running-instance quota").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from app.db.repo import quotas as counters
from app.db.writer import one_writer
from app.services.errors import DomainError

RUNS_PER_DAY, RUNNING, WORKFLOWS = "max_runs_per_day", "max_running_instances", "max_workflows"
# A slot whose run Temporal does not know yet may be a start in flight (taken before start_workflow):
# it is kept this long, then freed (the process that took it died before starting the run).
START_GRACE = timedelta(seconds=60)
DESCRIBES_AT_ONCE = 16


@dataclass
class Held:
    """What a start counted, so that exactly that is given back if the start does not happen."""

    tenant_id: str
    day: str
    temporal_id: str
    run_of_day: bool = False
    slot: bool = False


class QuotaExceeded(DomainError):
    """A start or create beyond one of the tenant's quotas: 429 `quota_exceeded`, nothing changed."""

    kind = "quota_exceeded"

    def __init__(self, quota: str, limit: int, *, retry_after: int | None = None) -> None:
        super().__init__(f"the tenant's quota {quota} ({limit}) is reached",
                         details=[{"quota": quota, "limit": limit}],
                         headers={"Retry-After": str(retry_after)} if retry_after else None)
        self.quota = quota


# SPEC §3: every 429 carries Retry-After. Time alone does not lift `max_workflows` (a workflow deleted
# or the quota raised does), so this only spaces out a client that retries on its own.
WORKFLOWS_RETRY_AFTER = 60


async def refuse_beyond_workflows(session: AsyncSession, *, tenant_id: str, limit: int) -> None:
    """The `max_workflows` quota, exact under concurrency: a create takes the tenant row's lock
    (PostgreSQL; on SQLite the caller is the one writer) before counting, so that two racing
    creates cannot both see room for one. Inside the caller's transaction."""
    if await counters.count_workflows(session, tenant_id=tenant_id, lock=True) >= limit:
        raise QuotaExceeded(WORKFLOWS, limit, retry_after=WORKFLOWS_RETRY_AFTER)


def seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()))


async def take(session: AsyncSession, *, tenant_id: str, temporal_id: str, day: str,
               limits: dict[str, Any]) -> tuple[Held, str | None]:
    """Count one start against the tenant's quotas; the caller commits, or rolls back when a
    quota (named in the answer) refuses it."""
    held = Held(tenant_id=tenant_id, day=day, temporal_id=temporal_id)
    for quota in (RUNS_PER_DAY, RUNNING):  # 0 allows none (the upserts below would insert a first 1)
        if limits.get(quota) is not None and limits[quota] <= 0:
            return held, quota
    if limits.get(RUNS_PER_DAY) is not None:
        if not await counters.count_run_of_day(session, tenant_id=tenant_id, day=day, limit=limits[RUNS_PER_DAY]):
            return held, RUNS_PER_DAY
        held.run_of_day = True
    if limits.get(RUNNING) is not None:
        taken = await counters.hold_slot(session, tenant_id=tenant_id, temporal_id=temporal_id,
                                         limit=limits[RUNNING], now=datetime.now(UTC))
        if taken is False:
            return held, RUNNING
        held.slot = bool(taken)
    return held, None


async def give_back(session: AsyncSession, held: Held, *, keep_slot: bool = False) -> None:
    """Un-count what `take` counted (the caller commits). `keep_slot`: the run exists after all."""
    if held.run_of_day:
        await counters.uncount_run_of_day(session, tenant_id=held.tenant_id, day=held.day)
    if held.slot and not keep_slot:
        await counters.free_slot(session, tenant_id=held.tenant_id, temporal_id=held.temporal_id)


async def move_slot(session: AsyncSession, held: Held, *, to: str) -> None:
    """The start became another run than the one counted (an Idempotency-Key past its 24 h)."""
    if held.slot and to != held.temporal_id:
        async with one_writer(session):
            await counters.move_slot(session, tenant_id=held.tenant_id, temporal_id=held.temporal_id, to=to)
            await session.commit()


async def reconcile(session: AsyncSession, client: Client, *, tenant_id: str) -> int:
    """Free the slots of the tenant's runs that have closed; how many were freed."""
    slots = await counters.held_slots(session, tenant_id=tenant_id)
    await session.commit()  # end the read before the Temporal calls (SQLite: no snapshot held)
    gate = asyncio.Semaphore(DESCRIBES_AT_ONCE)

    async def closed(temporal_id: str, taken_at: datetime) -> bool:
        async with gate:
            return await _has_closed(client, temporal_id, taken_at)

    ended = [slot[0] for slot, done in zip(slots, await asyncio.gather(*(closed(*slot) for slot in slots)), strict=True)
             if done]
    if not ended:
        return 0
    freed = 0
    async with one_writer(session):
        for temporal_id in ended:
            freed += await counters.free_slot(session, tenant_id=tenant_id, temporal_id=temporal_id)
        await session.commit()
    return freed


async def _has_closed(client: Client, temporal_id: str, taken_at: datetime) -> bool:
    try:
        description = await client.get_workflow_handle(temporal_id).describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        if taken_at.tzinfo is None:  # SQLite hands datetimes back naive (they are UTC)
            taken_at = taken_at.replace(tzinfo=UTC)
        return datetime.now(UTC) - taken_at > START_GRACE  # gone (retention) or never started
    return description.status not in (None, WorkflowExecutionStatus.RUNNING)
