"""Tenants managed over the API (SPEC §3.3): lookups, the page of tenants, and removing one's rows."""

from __future__ import annotations

from sqlalchemy import delete, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.repo.pages import Page, paginate
from app.db.tables import (Alert, ApiKey, Connection, IdempotencyRecord, SessionToken, Tenant, TriggerCounter,
                           Workflow, WorkflowVersion)
from app.db.tables import AuditEntry, RunningSlot, TenantRunCounter, TenantRunning

# What a tenant owns, children first (DELETE /v1/tenants/{id} removes all of it).
OWNED = (WorkflowVersion, Workflow, Connection, SessionToken, ApiKey, TriggerCounter, Alert, IdempotencyRecord,
         TenantRunCounter, TenantRunning, RunningSlot, AuditEntry)  # (the last four: quotas, audit log)


async def tenant_by_id(session: AsyncSession, *, tenant_id: str) -> Tenant | None:
    return (await session.exec(select(Tenant).where(Tenant.id == tenant_id))).first()


async def tenant_by_ref(session: AsyncSession, *, ref: str) -> Tenant | None:
    """The tenant whose id or external_id is `ref` (an id wins: ids are `ten_` + 32 hex digits)."""
    rows = (await session.exec(select(Tenant).where(or_(Tenant.id == ref, Tenant.external_id == ref)))).all()
    return next((row for row in rows if row.id == ref), rows[0] if rows else None)


async def tenant_is_disabled(session: AsyncSession, *, tenant_id: str) -> bool:
    """True for a disabled tenant and for one that no longer exists."""
    disabled = (await session.exec(select(Tenant.disabled).where(Tenant.id == tenant_id))).first()
    return disabled is None or bool(disabled)


async def page_of_tenants(session: AsyncSession, *, page: int, limit: int, external_id: str | None) -> Page[Tenant]:
    where = [] if not external_id else [col(Tenant.external_id) == external_id]
    return await paginate(session, Tenant, where=where, order_by=[col(Tenant.created_at), col(Tenant.id)],
                          page=page, limit=limit)


async def save_tenant(session: AsyncSession, *, row: Tenant) -> Tenant:
    """Insert or update; an IntegrityError (a name or external_id taken) is the caller's to map."""
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return row


async def workflows_of(session: AsyncSession, *, tenant_id: str) -> list[Workflow]:
    return list((await session.exec(select(Workflow).where(Workflow.tenant_id == tenant_id))).all())


async def delete_tenant_rows(session: AsyncSession, *, tenant_id: str) -> None:
    """Everything the tenant owns, then the tenant, in one transaction."""
    for table in OWNED:
        await session.exec(delete(table).where(table.tenant_id == tenant_id))  # type: ignore[attr-defined]
    await session.exec(delete(Tenant).where(Tenant.id == tenant_id))
    await session.commit()
