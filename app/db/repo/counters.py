"""Trigger counters: runs started per workflow per UTC day (the circuit breaker's exact count)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import TriggerCounter, core
from app.db.writer import one_writer

_SLOT_STATEMENTS: dict[str, Any] = {}


def _slot_statement(dialect: str) -> Any:
    """take_slot's upsert, built once per dialect (every trigger runs it; only parameters vary)."""
    if dialect not in _SLOT_STATEMENTS:
        insert, table = pg_insert if dialect == "postgresql" else sqlite_insert, core(TriggerCounter)
        statement = insert(table).values(workflow_id=bindparam("workflow_id"), day=bindparam("day"),
                                         tenant_id=bindparam("tenant_id"), count=1)
        _SLOT_STATEMENTS[dialect] = statement.on_conflict_do_update(
            index_elements=["workflow_id", "day"], set_={"count": table.c.count + 1},
            where=table.c.count < bindparam("limit")).returning(table.c.count)
    return _SLOT_STATEMENTS[dialect]


async def take_slot(session: AsyncSession, *, tenant_id: str, workflow_id: str, day: str, limit: int) -> bool:
    """Count one start on `day`; False when the day's `limit` is reached (nothing counted then)."""
    async with one_writer(session):
        counted = await count_start(session, tenant_id=tenant_id, workflow_id=workflow_id, day=day, limit=limit)
        await session.commit()  # expire_on_commit is off: the caller's objects stay loaded
    return counted


async def count_start(session: AsyncSession, *, tenant_id: str, workflow_id: str, day: str, limit: int) -> bool:
    """`take_slot` inside the caller's transaction (the caller commits).

    One statement, exact under concurrency on SQLite and PostgreSQL alike: insert the day's row
    with 1, or add 1 only while below the limit; no row touched means the limit is reached."""
    params = {"workflow_id": workflow_id, "day": day, "tenant_id": tenant_id, "limit": limit}
    return (await session.exec(_slot_statement(session.get_bind().dialect.name), params=params)).first() is not None


async def give_back(session: AsyncSession, *, workflow_id: str, day: str) -> None:
    """Un-count one start of `day` (a start that did not happen, or was counted before)."""
    await uncount_start(session, workflow_id=workflow_id, day=day)
    await session.commit()


async def uncount_start(session: AsyncSession, *, workflow_id: str, day: str) -> None:
    """`give_back` inside the caller's transaction."""
    await session.exec(update(TriggerCounter).where(
        col(TriggerCounter.workflow_id) == workflow_id, col(TriggerCounter.day) == day, col(TriggerCounter.count) > 0)
        .values(count=col(TriggerCounter.count) - 1))


async def reset(session: AsyncSession, *, workflow_id: str, day: str) -> None:
    await session.exec(update(TriggerCounter).where(col(TriggerCounter.workflow_id) == workflow_id,
                                                    col(TriggerCounter.day) == day).values(count=0))
    await session.commit()
