"""A tenant's name for its runs' `{{account.name}}` (SPEC §2.1, seed 003), cached briefly:
every trigger needs it, and a name changes rarely (a rename shows in new runs within a minute)."""

from __future__ import annotations

import time

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.repo import keys as key_rows

TTL_SECONDS = 60.0
_CACHE: dict[str, tuple[float, str | None]] = {}


async def tenant_name(session: AsyncSession, tenant_id: str) -> str | None:
    now = time.monotonic()
    cached = _CACHE.get(tenant_id)
    if cached is not None and now - cached[0] < TTL_SECONDS:
        return cached[1]
    name = await key_rows.tenant_name(session, tenant_id=tenant_id)
    if len(_CACHE) > 10_000:
        _CACHE.clear()
    _CACHE[tenant_id] = (now, name)
    return name
