"""Admission of a scheduled run: the circuit breaker (SPEC §3.1) for runs no API request started.

API-started runs take their slot in `triggering.start` before Temporal hears of them; a
Temporal Schedule starts runs on its own, so the interpreter's first step asks for the slot
through the `admit_scheduled_run` activity (app/services/worker_activities.py), which calls
`admit` below. A run of a deleted or disabled workflow, or of a disabled tenant, is refused;
otherwise the run is counted, and when the day's limit is reached the breaker trips (disable, alert, pause the
schedule).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from activities.models import AdmitInput, AdmitResult
from app.config import Settings
from app.services.errors import WorkflowDisabled
from app.services.quotas import QuotaExceeded
from app.services import triggering
from app.db.repo import tenants as tenant_rows
from app.db.repo import workflows as workflow_rows


async def admit(sessions: async_sessionmaker[AsyncSession], client: Client, settings: Settings,
                input: AdmitInput, *, temporal_id: str | None = None) -> AdmitResult:
    """Allowed means this run (Temporal id `temporal_id`) was counted by the tenant's quotas and
    the workflow's `max_triggers_per_day`, as `triggering.admit` counts every start (SPEC §3.3).
    (Without `temporal_id`, a running slot is held under an id no run has: freed a minute later.)"""
    temporal_id = temporal_id or f"{input.tenant_id}:admit:{uuid.uuid4().hex}"
    async with sessions() as session:
        row = await workflow_rows.get_workflow(session, tenant_id=input.tenant_id, workflow_id=input.workflow_id)
        if row is None:
            return AdmitResult(allowed=False, reason="the workflow was deleted")
        if not row.enabled:
            return AdmitResult(allowed=False, reason=f"the workflow is disabled ({row.disabled_reason or 'disabled'})")
        if await tenant_rows.tenant_is_disabled(session, tenant_id=input.tenant_id):  # SPEC §3.3
            return AdmitResult(allowed=False, reason="the workflow's tenant is disabled")
        try:
            await triggering.admit(session, client, settings, workflow=row, temporal_id=temporal_id,
                                   day=triggering.today())
        except QuotaExceeded as refusal:
            return AdmitResult(allowed=False, reason=f"{refusal.kind}: {refusal.message}")
        except WorkflowDisabled:  # the start that reached max_triggers_per_day tripped the breaker
            return AdmitResult(allowed=False, reason=f"circuit_breaker: max_triggers_per_day "
                                                     f"({row.max_triggers_per_day}) reached")
    return AdmitResult(allowed=True)
