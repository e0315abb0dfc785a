"""Tenants managed over the API (SPEC §3.3): lookups, the page of tenants, and removing one's rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.repo.pages import Page, paginate
from app.db.tables import (
    Alert,
    ApiKey,
    AuditEntry,
    Connection,
    IdempotencyRecord,
    RunningSlot,
    SessionToken,
    Tenant,
    TenantRunCounter,
    TenantRunning,
    TriggerCounter,
    Workflow,
    WorkflowVersion,
)

# What a tenant owns, children first (DELETE /v1/tenants/{id} removes all of it).
OWNED = (WorkflowVersion, Workflow, Connection, SessionToken, ApiKey, TriggerCounter, Alert, IdempotencyRecord,
         TenantRunCounter, TenantRunning, RunningSlot, AuditEntry)  # (the last four: quotas, audit log)


@dataclass(frozen=True)
class TenantFacts:
    """What a start reads of its tenant, as the request's key lookup read it (one statement less per
    trigger and event: the key query joins the tenant anyway, for `disabled`)."""

    id: str
    name: str
    quotas: dict[str, Any] | None
    disabled: bool


_READ_WITH_KEY = "relay.tenant_read_with_key"


def remember_tenant(session: AsyncSession, facts: TenantFacts) -> None:
    session.info[_READ_WITH_KEY] = facts


def read_with_key(session: AsyncSession) -> TenantFacts | None:
    facts = session.info.get(_READ_WITH_KEY)
    return facts if isinstance(facts, TenantFacts) else None


async def tenant_for_start(session: AsyncSession, *, tenant_id: str) -> Tenant | TenantFacts | None:
    """The tenant as this session's key lookup read it (API sessions live for one request), or read now
    (webhooks, sessions, platform keys, the worker's starts)."""
    facts = read_with_key(session)
    if facts is not None and facts.id == tenant_id:
        return facts
    return await tenant_by_id(session, tenant_id=tenant_id)


async def tenant_by_id(session: AsyncSession, *, tenant_id: str) -> Tenant | None:
    return (await session.exec(select(Tenant).where(Tenant.id == tenant_id))).first()


async def tenant_by_ref(session: AsyncSession, *, ref: str) -> Tenant | None:
    """The tenant whose id or external_id is `ref` (an id wins: ids are `ten_` + 32 hex digits)."""
    rows = (await session.exec(select(Tenant).where(or_(col(Tenant.id) == ref, col(Tenant.external_id) == ref)))).all()
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
        await session.exec(delete(table).where(col(table.tenant_id) == tenant_id))
    await session.exec(delete(Tenant).where(col(Tenant.id) == tenant_id))
    await session.commit()
