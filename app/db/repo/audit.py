"""The audit log's rows (SPEC §3.3): a tenant's entries, newest first. Entries are added by
app/services/audit.py `record` to the session of the change they record."""

from __future__ import annotations

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.repo.pages import Page, paginate
from app.db.tables import AuditEntry


async def page_of_entries(session: AsyncSession, *, tenant_id: str, page: int, limit: int) -> Page[AuditEntry]:
    return await paginate(session, AuditEntry, where=[col(AuditEntry.tenant_id) == tenant_id],
                          order_by=[col(AuditEntry.at).desc(), col(AuditEntry.id).desc()], page=page, limit=limit)
