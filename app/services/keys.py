"""API keys: `rly_<random>`, stored only as a SHA-256 hash, shown once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.repo import keys as key_rows
from app.db.repo.keys import ensure_tenant  # noqa: F401  (the CLI and the dev server make tenants through here)
from app.db.tables import ApiKey
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


async def create_key(session: AsyncSession, *, tenant_id: str, scopes: list[str], name: str = "",
                     actor: Actor | None = None) -> tuple[ApiKey, str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    key = f"rly_{new_token(32)}"
    row = ApiKey(id=new_id("key"), tenant_id=tenant_id, name=name, prefix=key[:8],
                 key_hash=hash_key(key), scopes=sorted(set(scopes)))
    audit.note(session, actor, "key.created", "key", row.id)  # written by add_key's commit, with the key
    return await key_rows.add_key(session, row=row), key


async def authenticate(session: AsyncSession, *, key: str) -> Principal | None:
    row = await key_rows.key_by_hash(session, key_hash=hash_key(key))
    if row is None or row.revoked_at is not None:
        return None
    return Principal(tenant_id=row.tenant_id, key_id=row.id, scopes=frozenset(row.scopes))
