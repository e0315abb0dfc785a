"""Tenants and API keys."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.repo.pages import Page, paginate
from app.db.repo.tenants import TenantFacts, remember_tenant
from app.db.tables import ApiKey, Tenant, utcnow
from app.ids import new_id

# Built once (every request authenticates): building a SELECT costs about as much CPU as running it.
# With whether the key's tenant is disabled (SPEC §3.3: its keys answer 401 at once), and the tenant's
# name and quotas, which a start of this request reads (app/db/repo/tenants.py TenantFacts); a platform key has none.
# Plain columns, not the ORM entity (whether it is revoked, not when: no datetime to parse).
_BY_HASH = (select(ApiKey.id, ApiKey.tenant_id, ApiKey.platform, ApiKey.scopes,  # type: ignore[call-overload]
                   col(ApiKey.revoked_at).is_not(None), Tenant.disabled, Tenant.name, Tenant.quotas)
            .outerjoin(Tenant, col(ApiKey.tenant_id) == Tenant.id).where(ApiKey.key_hash == bindparam("key_hash")))


class KeyFacts(NamedTuple):
    """What authenticating a key reads of its row."""

    id: str
    tenant_id: str | None
    platform: bool
    scopes: list[str]
    revoked: bool


async def ensure_tenant(session: AsyncSession, *, name: str) -> Tenant:
    """The tenant named `name`, created if there is none (also when two callers race to create it)."""
    tenant = (await session.exec(select(Tenant).where(Tenant.name == name))).first()
    if tenant is None:
        tenant = Tenant(id=new_id("ten"), name=name)
        session.add(tenant)
        try:
            await session.commit()
        except IntegrityError:  # created concurrently
            await session.rollback()
            tenant = (await session.exec(select(Tenant).where(Tenant.name == name))).one()
    return tenant


async def tenant_name(session: AsyncSession, *, tenant_id: str) -> str | None:
    return (await session.exec(select(Tenant.name).where(Tenant.id == tenant_id))).first()


async def tenant_id_by_name(session: AsyncSession, *, name_or_id: str) -> str | None:
    """The id of the tenant named `name_or_id`, or whose id it is."""
    query = select(Tenant.id).where(or_(col(Tenant.name) == name_or_id, col(Tenant.id) == name_or_id))
    return (await session.exec(query)).first()


async def add_key(session: AsyncSession, *, row: ApiKey) -> ApiKey:
    session.add(row)
    await session.commit()
    return row


async def key_by_hash(session: AsyncSession, *, key_hash: str) -> tuple[KeyFacts, bool] | None:
    """The key and whether its tenant is disabled; the tenant's facts stay with the session for a start."""
    found = (await session.exec(_BY_HASH, params={"key_hash": key_hash})).first()
    if found is None:
        return None
    key_id, tenant_id, platform, scopes, revoked, disabled, name, quotas = found
    if tenant_id is not None and name is not None:
        limits = None if quotas is None else dict(quotas)
        remember_tenant(session, TenantFacts(id=tenant_id, name=name, quotas=limits, disabled=bool(disabled)))
    return KeyFacts(id=key_id, tenant_id=tenant_id, platform=bool(platform), scopes=list(scopes),
                    revoked=bool(revoked)), bool(disabled)


async def page_of_keys(session: AsyncSession, *, tenant_id: str, page: int, limit: int) -> Page[ApiKey]:
    """The tenant's keys that are not revoked, oldest first."""
    where = [col(ApiKey.tenant_id) == tenant_id, col(ApiKey.revoked_at).is_(None)]
    return await paginate(session, ApiKey, where=where, order_by=[col(ApiKey.created_at), col(ApiKey.id)],
                          page=page, limit=limit)


async def revoke_key(session: AsyncSession, *, tenant_id: str, key_id: str) -> bool:
    """Revoke the tenant's key `key_id`; False when it has no such key (or it is revoked already)."""
    return await _revoke(session, ApiKey.tenant_id == tenant_id, ApiKey.id == key_id) is not None


async def live_keys(session: AsyncSession, *, tenant_id: str | None) -> list[ApiKey]:
    """The keys not revoked of `tenant_id`, or with None the platform keys, oldest first."""
    owner = col(ApiKey.platform).is_(True) if tenant_id is None else col(ApiKey.tenant_id) == tenant_id
    query = select(ApiKey).where(owner, col(ApiKey.revoked_at).is_(None)).order_by(col(ApiKey.created_at),
                                                                                     col(ApiKey.id))
    return list((await session.exec(query)).all())


async def revoke_any_key(session: AsyncSession, *, key_id: str) -> ApiKey | None:
    """Revoke the key `key_id` of any tenant or a platform key (the server's operator, `relay keys
    revoke`); None when there is no such key or it is revoked already."""
    return await _revoke(session, ApiKey.id == key_id)


async def _revoke(session: AsyncSession, *conditions: Any) -> ApiKey | None:
    row = (await session.exec(select(ApiKey).where(*conditions, col(ApiKey.revoked_at).is_(None)))).first()
    if row is None:
        return None
    row.revoked_at = utcnow()
    session.add(row)
    await session.commit()
    return row
