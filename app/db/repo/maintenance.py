"""Pruning: rows past their window (idempotency records, day counters, alerts), and table sizes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import Alert, IdempotencyRecord, Tenant, TenantRunCounter, TriggerCounter, Workflow

PRUNED = (IdempotencyRecord, TriggerCounter, TenantRunCounter, Alert)


async def prune(session: AsyncSession, *, records_before: datetime, counters_before: str,
                alerts_before: datetime) -> dict[str, int]:
    """Delete what is older than its window, one statement per table; {table: rows deleted}."""
    statements = {
        IdempotencyRecord.__tablename__: delete(IdempotencyRecord).where(
            col(IdempotencyRecord.created_at) < records_before),
        TriggerCounter.__tablename__: delete(TriggerCounter).where(col(TriggerCounter.day) < counters_before),
        TenantRunCounter.__tablename__: delete(TenantRunCounter).where(col(TenantRunCounter.day) < counters_before),
        Alert.__tablename__: delete(Alert).where(col(Alert.created_at) < alerts_before),
    }
    deleted = {}
    for table, statement in statements.items():
        result = await session.exec(statement)
        deleted[str(table)] = result.rowcount or 0
    await session.commit()
    return deleted


async def row_counts(session: AsyncSession) -> dict[str, int]:
    counts = {}
    for table in PRUNED:
        counts[str(table.__tablename__)] = (await session.exec(select(func.count()).select_from(table))).one()
    return counts


async def tenant_ids(session: AsyncSession) -> set[str]:
    return set((await session.exec(select(Tenant.id))).all())


async def scheduled_workflows(session: AsyncSession) -> list[Workflow]:
    """Every workflow whose active trigger is a schedule (each should have its Temporal Schedule)."""
    return list((await session.exec(select(Workflow).where(Workflow.trigger_type == "schedule"))).all())
