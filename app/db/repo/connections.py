"""A tenant's connections (credentials; secrets only as a Fernet token)."""

from __future__ import annotations

from sqlalchemy import func, update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.repo.pages import Page, paginate
from app.db.tables import Connection, utcnow


async def get_connection(session: AsyncSession, *, tenant_id: str, connection_id: str) -> Connection | None:
    statement = select(Connection).where(Connection.tenant_id == tenant_id, Connection.id == connection_id)
    return (await session.exec(statement)).first()


async def named(session: AsyncSession, *, tenant_id: str, name: str) -> Connection | None:
    statement = select(Connection).where(Connection.tenant_id == tenant_id, Connection.name == name)
    return (await session.exec(statement)).first()


async def page_of_connections(session: AsyncSession, *, tenant_id: str, page: int, limit: int,
                              type: str | None = None) -> Page[Connection]:
    where = [col(Connection.tenant_id) == tenant_id]
    if type:
        where.append(col(Connection.type) == type)
    return await paginate(session, Connection, where=where, order_by=[col(Connection.created_at), col(Connection.id)],
                          page=page, limit=limit)


async def add_connection(session: AsyncSession, *, row: Connection) -> Connection:
    """Store `row`; a default one unsets the tenant's other default of its type in the same transaction
    (raises IntegrityError on a duplicate name, or when another default was stored meanwhile)."""
    if row.is_default:
        if session.bind.dialect.name == "postgresql":  # queue racing defaults (SQLite serialises writes)
            await session.exec(select(func.pg_advisory_xact_lock(func.hashtext(f"{row.tenant_id}:default:{row.type}"))))
        await session.exec(update(Connection)
                           .where(col(Connection.tenant_id) == row.tenant_id, col(Connection.type) == row.type,
                                  col(Connection.is_default).is_(True))
                           .values(is_default=False, updated_at=utcnow()))
    session.add(row)
    await session.commit()
    return row


async def delete_connection(session: AsyncSession, *, tenant_id: str, connection_id: str) -> bool:
    row = await get_connection(session, tenant_id=tenant_id, connection_id=connection_id)
    if row is None:
        return False
    await session.delete(row)
    await session.commit()
    return True


async def by_type(session: AsyncSession, *, tenant_id: str, type: str, ref: str | None) -> list[Connection]:
    """The tenant's connections of `type` whose id or name is `ref`; without `ref`, its defaults, newest first."""
    statement = select(Connection).where(Connection.tenant_id == tenant_id, Connection.type == type)
    if ref is None:
        statement = (statement.where(col(Connection.is_default).is_(True))
                     .order_by(col(Connection.created_at).desc(), col(Connection.id).desc()))
    else:
        statement = statement.where(or_(Connection.id == ref, Connection.name == ref))
    return list((await session.exec(statement)).all())
