"""Tenants' settings read by other services. (A minimal stand-in until branch h16a's tenants
service lands: same signature; h16a's version replaces this file.)"""

from __future__ import annotations

import json
import os
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import Tenant

QUOTA_NAMES = ("max_running_instances", "max_runs_per_day", "max_workflows")


async def tenant_quotas(session: AsyncSession, *, tenant_id: str) -> dict[str, Any]:
    """The tenant's quotas, each an int or None (unlimited)."""
    row = await session.get(Tenant, tenant_id)
    stored = getattr(row, "quotas", None) or json.loads(os.environ.get("RELAY_TENANT_QUOTAS") or "{}")
    return {name: stored.get(name) for name in QUOTA_NAMES}
