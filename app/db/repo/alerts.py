"""Alerts, and the connection an alert is posted to."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.repo.pages import Page, paginate
from app.db.tables import Alert, Connection


async def add_alert(session: AsyncSession, *, alert: Alert) -> Alert:
    session.add(alert)
    await session.commit()
    return alert


async def page_of_alerts(session: AsyncSession, *, tenant_id: str, page: int, limit: int,
                         workflow_id: str | None = None) -> Page[Alert]:
    conditions = [Alert.tenant_id == tenant_id]
    if workflow_id:
        conditions.append(Alert.workflow_id == workflow_id)
    return await paginate(session, Alert, where=conditions, order_by=[col(Alert.created_at).desc()],
                          page=page, limit=limit)


async def alert_connection_name(session: AsyncSession, *, tenant_id: str) -> str | None:
    """The name of the tenant's default `alert` connection, else of its oldest one."""
    return (await session.exec(
        select(Connection.name).where(Connection.tenant_id == tenant_id, Connection.type == "alert")
        .order_by(col(Connection.is_default).desc(), col(Connection.created_at)))).first()


async def mark_delivered(session: AsyncSession, *, alert_id: str) -> None:
    row = await session.get(Alert, alert_id)
    if row is not None:
        row.delivered = True
        session.add(row)
        await session.commit()
