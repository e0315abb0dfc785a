"""API keys: `rly_<random>`, stored only as a SHA-256 hash, shown once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import ApiKey, Tenant
from app.ids import new_id, new_token
from app.services import audit
from app.services.audit import Actor

SCOPES = ("read:workflows", "write:workflows", "read:instances", "write:instances", "write:events", "admin")


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    key_id: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def ensure_tenant(session: AsyncSession, *, name: str) -> Tenant:
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


async def create_key(session: AsyncSession, *, tenant_id: str, scopes: list[str], name: str = "",
                     actor: Actor | None = None) -> tuple[ApiKey, str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    key = f"rly_{new_token(32)}"
    row = ApiKey(id=new_id("key"), tenant_id=tenant_id, name=name, prefix=key[:8],
                 key_hash=hash_key(key), scopes=sorted(set(scopes)))
    session.add(row)
    audit.note(session, actor, "key.created", "key", row.id)
    await session.commit()
    return row, key


# Built once (every request authenticates): building a SELECT costs about as much CPU as running it.
_BY_HASH = select(ApiKey).where(ApiKey.key_hash == bindparam("key_hash"))


async def authenticate(session: AsyncSession, *, key: str) -> Principal | None:
    row = (await session.exec(_BY_HASH, params={"key_hash": hash_key(key)})).first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal(tenant_id=row.tenant_id, key_id=row.id, scopes=frozenset(row.scopes))
