"""The tenant quotas' counters (SPEC §3.3): runs per UTC day, running instances and their slots.

Each function only issues statements: the caller commits, so that a start's counts (these and
the circuit breaker's) are taken, or refused, in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import RunningSlot, Tenant, TenantRunCounter, TenantRunning, Workflow, core

_STATEMENTS: dict[tuple[str, str], Any] = {}


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _counting(session: AsyncSession, name: str, build: Any) -> Any:
    """A statement built once per dialect (every start runs them; only parameters vary)."""
    key = (session.get_bind().dialect.name, name)
    if key not in _STATEMENTS:
        _STATEMENTS[key] = build(_insert(session))
    return _STATEMENTS[key]


def _count_day(insert: Any) -> Any:
    table = core(TenantRunCounter)
    return insert(table).values(tenant_id=bindparam("tenant_id"), day=bindparam("day"), count=1) \
        .on_conflict_do_update(index_elements=["tenant_id", "day"], set_={"count": table.c.count + 1},
                               where=table.c.count < bindparam("limit")) \
        .returning(table.c.count)


def _count_running(insert: Any) -> Any:
    table = core(TenantRunning)
    return insert(table).values(tenant_id=bindparam("tenant_id"), count=1) \
        .on_conflict_do_update(index_elements=["tenant_id"], set_={"count": table.c.count + 1},
                               where=table.c.count < bindparam("limit")) \
        .returning(table.c.count)


def _hold(insert: Any) -> Any:
    table = core(RunningSlot)
    return insert(table).values(temporal_id=bindparam("temporal_id"), tenant_id=bindparam("tenant_id"),
                                taken_at=bindparam("taken_at")) \
        .on_conflict_do_nothing(index_elements=["temporal_id"]).returning(table.c.temporal_id)


async def count_run_of_day(session: AsyncSession, *, tenant_id: str, day: str, limit: int) -> bool:
    """Count one run on `day`; False (nothing counted) when the tenant's `limit` is reached. One
    statement: exact under concurrency on SQLite and PostgreSQL (the circuit breaker's way)."""
    params = {"tenant_id": tenant_id, "day": day, "limit": limit}
    return (await session.exec(_counting(session, "day", _count_day), params=params)).first() is not None


async def hold_slot(session: AsyncSession, *, tenant_id: str, temporal_id: str, limit: int,
                    now: datetime) -> bool | None:
    """Hold a running slot for the run `temporal_id`: True when taken, None when this run holds
    one already (a retried start), False when the tenant's `limit` is reached."""
    params = {"tenant_id": tenant_id, "temporal_id": temporal_id, "taken_at": now}
    if (await session.exec(_counting(session, "hold", _hold), params=params)).first() is None:
        return None
    counted = await session.exec(_counting(session, "running", _count_running),
                                 params={"tenant_id": tenant_id, "limit": limit})
    if counted.first() is None:  # at the limit: the slot row inserted above goes again
        await session.exec(delete(RunningSlot).where(col(RunningSlot.temporal_id) == temporal_id))
        return False
    return True


async def free_slot(session: AsyncSession, *, tenant_id: str, temporal_id: str) -> bool:
    """Free the run's slot (once: a second call finds none and counts nothing)."""
    freed = await session.exec(delete(RunningSlot).where(col(RunningSlot.tenant_id) == tenant_id,
                                                         col(RunningSlot.temporal_id) == temporal_id))
    if freed.rowcount != 1:
        return False
    await session.exec(update(TenantRunning)
                       .where(col(TenantRunning.tenant_id) == tenant_id, col(TenantRunning.count) > 0)
                       .values(count=col(TenantRunning.count) - 1))
    return True


async def move_slot(session: AsyncSession, *, tenant_id: str, temporal_id: str, to: str) -> None:
    await session.exec(update(RunningSlot).where(col(RunningSlot.tenant_id) == tenant_id,
                                                 col(RunningSlot.temporal_id) == temporal_id).values(temporal_id=to))


async def uncount_run_of_day(session: AsyncSession, *, tenant_id: str, day: str) -> None:
    await session.exec(update(TenantRunCounter).where(
        col(TenantRunCounter.tenant_id) == tenant_id, col(TenantRunCounter.day) == day, col(TenantRunCounter.count) > 0)
        .values(count=TenantRunCounter.count - 1))


async def held_slots(session: AsyncSession, *, tenant_id: str) -> list[tuple[str, datetime]]:
    """(Temporal id, taken at) of every run the tenant's running count holds."""
    rows = await session.exec(select(RunningSlot.temporal_id, RunningSlot.taken_at)
                              .where(RunningSlot.tenant_id == tenant_id))
    return [(temporal_id, taken_at) for temporal_id, taken_at in rows.all()]


async def count_workflows(session: AsyncSession, *, tenant_id: str, lock: bool = False) -> int:
    """The tenant's workflows; `lock`: first take the tenant row's lock (PostgreSQL) till the commit."""
    if lock and session.get_bind().dialect.name == "postgresql":
        await session.exec(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    return (await session.exec(select(func.count()).select_from(Workflow).where(Workflow.tenant_id == tenant_id))).one()
