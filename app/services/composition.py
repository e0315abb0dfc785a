"""Runs that start runs: call_workflow's child (SPEC §2.4) and failure workflows (§3.4).

Both are service activities (app/services/worker_activities.py), since workflow code does no I/O.
`prepare_call` resolves the callee's version and admits the child under its own Temporal id,
exactly as `triggering.start` admits any start (quotas, circuit breaker); the workflow then starts
the child itself, as a child workflow. `start_failure_workflow` reads the failed run's workflow's
`on_failure_workflow_id` when the run fails and starts that workflow through `triggering.start`,
with an idempotency key of the failed instance, so a retried activity starts one run.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from activities.models import CallInput, CallPrepared, FailureInput, FailureStarted
from app.config import Settings
from app.db.repo import tenants as tenant_rows
from app.db.repo import workflows as workflow_rows
from app.prometheus import PROMETHEUS
from app.services import triggering
from app.services.definitions import without_secrets
from app.services.errors import DomainError, InvalidInput, NotFound, WorkflowDisabled
from app.services.tenant_names import tenant_name
from workflows.definition import Definition
from workflows.models import TriggerInfo


async def prepare_call(sessions: async_sessionmaker[AsyncSession], client: Client, settings: Settings,
                       input: CallInput, *, admitted: bool = False) -> CallPrepared:
    """The callee's version for the child run, the child counted (unless `admitted` already)."""
    async with sessions() as session:
        row = await workflow_rows.get_workflow(session, tenant_id=input.tenant_id, workflow_id=input.workflow_id)
        if row is None:
            raise NotFound("workflow", f"the called workflow {input.workflow_id} does not exist")
        if not row.enabled:
            raise WorkflowDisabled(f"the called workflow is disabled ({row.disabled_reason or 'by its owner'})")
        if await tenant_rows.tenant_is_disabled(session, tenant_id=input.tenant_id):
            raise WorkflowDisabled("the workflow's tenant is disabled: its triggers start nothing")
        number = input.version or row.active_version
        if number is None:
            raise InvalidInput("the called workflow has no published version; give inputs.version")
        version = await workflow_rows.get_version(session, tenant_id=input.tenant_id, workflow_id=row.id,
                                                  number=number)
        if version is None:
            raise NotFound("version", f"the called workflow has no version {number}")
        if not admitted:
            await triggering.admit(session, client, settings, workflow=row, temporal_id=input.temporal_id,
                                   day=triggering.today())
            PROMETHEUS.runs_started.labels("call").inc()
        name = await tenant_name(session, row.tenant_id)
        return CallPrepared(workflow_name=row.name, version=number, tenant_name=name,
                            definition=Definition.model_validate(without_secrets(version.definition)))


async def start_failure_workflow(sessions: async_sessionmaker[AsyncSession], client: Client, settings: Settings,
                                 input: FailureInput) -> FailureStarted:
    async with sessions() as session:
        row = await workflow_rows.get_workflow(session, tenant_id=input.tenant_id, workflow_id=input.workflow_id)
        target_id = row.on_failure_workflow_id if row is not None else None
        if target_id is None:
            return FailureStarted(reason="no failure workflow")
        target = await workflow_rows.get_workflow(session, tenant_id=input.tenant_id, workflow_id=target_id)
        if target is None:
            return FailureStarted(reason=f"the failure workflow {target_id} was deleted")
        data = {"instance_id": input.instance_id, "workflow_id": input.workflow_id,
                "workflow_name": input.workflow_name, "status": input.status, "error": input.error,
                "failed_step": input.failed_step}
        trigger = TriggerInfo(type="failure", data=data, received_at=datetime.now(UTC))
        try:
            instance = await triggering.start(session, client, settings, workflow=target, trigger=trigger,
                                              idempotency_key=f"failure-workflow:{input.tenant_id}:{input.instance_id}")
        except DomainError as refusal:
            if refusal.retryable:
                raise
            return FailureStarted(reason=f"{refusal.kind}: {refusal.message}")
    return FailureStarted(instance_id=instance["id"])
