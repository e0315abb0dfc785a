"""Session tokens (SPEC §3.3): looked up by hash with whether their tenant is disabled, in one query."""

from __future__ import annotations

from sqlalchemy import bindparam, delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import SessionToken, Tenant

# Built once (every request with a session token looks it up).
_SESSION_BY_HASH = (select(SessionToken, Tenant.disabled).join(Tenant, col(SessionToken.tenant_id) == Tenant.id)
                    .where(SessionToken.token_hash == bindparam("token_hash")))


async def session_by_hash(session: AsyncSession, *, token_hash: str) -> tuple[SessionToken, bool] | None:
    found = (await session.exec(_SESSION_BY_HASH, params={"token_hash": token_hash})).first()
    return None if found is None else (found[0], bool(found[1]))


async def add_session(session: AsyncSession, *, row: SessionToken) -> SessionToken:
    session.add(row)
    await session.commit()
    return row


async def tenant_of_session(session: AsyncSession, *, session_id: str, tenant_id: str | None) -> str | None:
    """The tenant of the session (looked for in `tenant_id`, or in every tenant when None)."""
    statement = select(SessionToken.tenant_id).where(SessionToken.id == session_id)
    if tenant_id is not None:
        statement = statement.where(SessionToken.tenant_id == tenant_id)
    return (await session.exec(statement)).first()


async def delete_session(session: AsyncSession, *, session_id: str, tenant_id: str | None) -> bool:
    """Delete the session (of `tenant_id`, or of any tenant when None); False when there is none."""
    statement = delete(SessionToken).where(col(SessionToken.id) == session_id)
    if tenant_id is not None:
        statement = statement.where(col(SessionToken.tenant_id) == tenant_id)
    result = await session.exec(statement)
    if result.rowcount != 1:  # gone meanwhile: what the caller noted (its audit entry) is not kept
        await session.rollback()
        return False
    await session.commit()
    return True
