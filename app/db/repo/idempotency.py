"""Idempotency-Key records: one row per owner (tenant or hook) and key (app/idempotency.py)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import IdempotencyRecord


async def find(session: AsyncSession, *, owner: str, key: str) -> IdempotencyRecord | None:
    statement = select(IdempotencyRecord).where(IdempotencyRecord.tenant_id == owner,
                                                IdempotencyRecord.idempotency_key == key)
    return (await session.exec(statement)).first()


async def claim(session: AsyncSession, *, owner: str, key: str, fingerprint: str,
                replacing: IdempotencyRecord | None = None) -> int | None:
    """Insert an in-progress row (after deleting `replacing`, an expired or stale one) and return its
    id; None when a concurrent request inserted one first."""
    if replacing is not None:
        await session.exec(delete(IdempotencyRecord).where(IdempotencyRecord.id == replacing.id))
    mine = IdempotencyRecord(tenant_id=owner, idempotency_key=key, request_hash=fingerprint)
    session.add(mine)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return None
    return mine.id


async def finish(session: AsyncSession, *, record_id: int, status: int | None, body: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
    """Store the answer in row `record_id`; `status` None removes the row (nothing to replay)."""
    record = await session.get(IdempotencyRecord, record_id)
    if record is None:
        return
    if status is None:
        await session.delete(record)
    else:
        record.state, record.response_status = "done", status
        record.response_body, record.response_headers = body, headers
        session.add(record)
    await session.commit()
