"""API keys: `rly_<random>`, stored only as a SHA-256 hash, shown once. Session tokens (`rst_…`,
app/services/sessions.py) authenticate here too; a disabled tenant's keys and sessions do not."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.authepoch import Epoch, EpochCache
from app.db.repo import keys as key_rows
from app.db.repo import sessions as session_rows
from app.db.repo.keys import ensure_tenant as ensure_tenant  # the CLI and the dev server make tenants through here
from app.db.repo.tenants import TenantFacts, read_with_key, remember_tenant
from app.db.tables import ApiKey
from app.ids import new_id, new_token
from app.services import audit
from app.services.audit import Actor

SCOPES = ("read:workflows", "write:workflows", "read:instances", "write:instances", "write:events", "admin")
PLATFORM = "platform"  # the scope of a platform key (SPEC §3.3): it manages tenants, it has no tenant
KEY_PREFIX, SESSION_PREFIX = "rly_", "rst_"


@dataclass(frozen=True)
class Principal:
    """Who calls: a tenant's key, a session token, or a platform key (acting for `tenant_id` once
    app/deps.py has read Relay-Tenant; "" before). `key_id` is the credential's id (key_… or ses_…)."""

    tenant_id: str
    key_id: str
    scopes: frozenset[str]
    actor: Literal["key", "session", "platform"] = "key"
    subject: str | None = None  # a session's subject (the host product's user)
    expires_at: datetime | None = None  # a session token's end

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    @property
    def is_platform(self) -> bool:
        return PLATFORM in self.scopes


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(session: AsyncSession, *, tenant_id: str | None, scopes: list[str],
                     name: str = "", actor: Actor | None = None) -> tuple[ApiKey, str]:
    """A key of `tenant_id`, or with tenant_id None a platform key (its one scope: `platform`)."""
    unknown = sorted(set(scopes) - set(SCOPES if tenant_id else (PLATFORM,)))
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    key = f"{KEY_PREFIX}{new_token(32)}"
    row = ApiKey(id=new_id("key"), tenant_id=tenant_id, platform=tenant_id is None, name=name, prefix=key[:8],
                 key_hash=hash_key(key), scopes=sorted(set(scopes)))
    audit.note(session, actor, "key.created", "key", row.id)  # written by add_key's commit, with the key
    return await key_rows.add_key(session, row=row), key


async def authenticate(session: AsyncSession, *, key: str) -> Principal | None:
    """The principal of a key or session token; None when it is unknown, revoked, expired, or its
    tenant is disabled (all answer 401 at once: `AuthCache` keeps an answer only while the
    credentials' epoch stands)."""
    if key.startswith(SESSION_PREFIX):
        return await _session_principal(session, token=key)
    found = await key_rows.key_by_hash(session, key_hash=hash_key(key))
    if found is None or found[0].revoked or found[1]:
        return None
    row = found[0]
    if row.platform:
        return Principal(tenant_id="", key_id=row.id, scopes=frozenset({PLATFORM}), actor="platform")
    return Principal(tenant_id=row.tenant_id or "", key_id=row.id, scopes=frozenset(row.scopes))


async def _session_principal(session: AsyncSession, *, token: str) -> Principal | None:
    found = await session_rows.session_by_hash(session, token_hash=hash_key(token))
    if found is None or found[1]:
        return None
    row = found[0]
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        return None
    return Principal(tenant_id=row.tenant_id, key_id=row.id, scopes=frozenset(row.scopes), actor="session",
                     subject=row.subject, expires_at=expires)


class AuthCache:
    """What `authenticate` found for the keys and session tokens of recent requests, kept while the
    cache epoch (app/db/authepoch.py `EpochCache`) stands: a revoke, a tenant disabled or deleted, a
    session revoked, by this process or any other on the database, moves the epoch once its commit
    has returned, and the next request of every process finds its cache emptied. An answer is
    kept only if the epoch did not move between reading it and the lookup (so a lookup that raced
    a revoke is not kept), for `ttl` seconds at most (a hand edit of the database, which moves no
    epoch, is seen after that), never past a session token's end; unknown keys are not kept.
    Without an epoch (PostgreSQL) nothing is kept. Saves the key lookup, one statement of every
    authenticated request (docs/decisions.md, "The credentials' cache").

    The rule leans on the lookup being made outside any transaction, which holds because every
    request's lookup is its session's first statement."""

    def __init__(self, epoch: Epoch | None, *, ttl: float = 60.0, max_entries: int = 10_000) -> None:
        self.kept: EpochCache[str, tuple[Principal, TenantFacts | None]] = EpochCache(
            epoch, ttl=ttl, max_entries=max_entries)

    async def principal(self, session: AsyncSession, *, key: str) -> Principal | None:
        if self.kept.epoch is None:
            return await authenticate(session, key=key)
        digest = hash_key(key)  # (not `kept.read`: a session token's end and the tenant's facts are checked here)
        epoch = self.kept.current()
        hit = self.kept.get(digest)
        if hit is not None and (hit[0].expires_at is None or hit[0].expires_at > datetime.now(UTC)):
            if hit[1] is not None:
                remember_tenant(session, hit[1])
            return hit[0]
        principal = await authenticate(session, key=key)
        if principal is not None:
            self.kept.keep(digest, (principal, read_with_key(session)), epoch)
        return principal
