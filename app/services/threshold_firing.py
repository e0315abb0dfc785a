"""Firing a threshold: a ThresholdWatcher's crossing starts one run, through the circuit breaker.

The run is started by `app.services.triggering.start`, the same path as every other trigger, so
`max_triggers_per_day` counts it and a disabled workflow refuses it. The watcher derives the
idempotency key from its id and the crossing's sequence number, so a retried activity finds the
run its first attempt started instead of starting another. Called by the `fire_threshold`
activity (app/services/worker_activities.py), which turns a refusal into a Temporal failure.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.models import FireInput, FireResult
from app.config import Settings
from app.services.errors import NotFound
from app.services import runs, triggering
from app.db.repo import workflows as workflow_rows
from app.temporal import temporal_workflow_id


async def fire(sessions: async_sessionmaker[AsyncSession], client: Client, settings: Settings,
               input: FireInput, *, retried: bool) -> FireResult:
    """The run this crossing started; a `DomainError` when the workflow is gone or refuses it.

    `retried`: an earlier attempt may have started the run already, so look for it first."""
    async with sessions() as session:
        row = await workflow_rows.get_workflow(session, tenant_id=input.tenant_id, workflow_id=input.workflow_id)
        if row is None:
            raise NotFound("workflow", "the workflow no longer exists")
        if retried:
            started = await _started(client, input)
            if started is not None:
                return FireResult(instance_id=started)
        instance = await triggering.start(session, client, settings, workflow=row,
                                          trigger=input.trigger, idempotency_key=input.idempotency_key)
    return FireResult(instance_id=instance["id"])


async def _started(client: Client, input: FireInput) -> str | None:
    """The run an earlier attempt started under this idempotency key, if any."""
    instance_id = runs.instance_id_for(input.idempotency_key)
    try:
        await client.get_workflow_handle(temporal_workflow_id(input.tenant_id, instance_id)).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return instance_id
