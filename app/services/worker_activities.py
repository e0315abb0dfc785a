"""The activities that run service code in the worker: thin wrappers, one service call each.

    services = ServiceActivities(settings, sessions)   # worker.py: the process's one sessionmaker
    Worker(..., activities=[*RelayActivities(...).list(), *services.list()])

They live on the service side so that nothing under activities/ imports app.services, app.db or
app.errors; their names are the ones running workflows and recorded histories call.

Retries of `admit_scheduled_run`: once the slot is counted the activity heartbeats "slot_taken",
and a retried attempt that finds that detail does not count again. The window left (a crash after
the commit and before the heartbeat reached Temporal; or a server that drops heartbeat details on
activity failure, as the dev server warns it may) can count one run twice: the count is
at-least-once, a run is never started twice. Exactly-once would need a table of admitted run ids.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities.models import (
    ADMIT_ACTIVITY,
    CALL_ACTIVITY,
    FAILURE_ACTIVITY,
    FIRE_ACTIVITY,
    FLOW_CLOSED_ACTIVITY,
    FLOW_ENQUEUE_ACTIVITY,
    FLOW_START_ACTIVITY,
    PRUNE_ACTIVITY,
    RECONCILE_ACTIVITY,
    AdmitInput,
    AdmitResult,
    CallInput,
    CallPrepared,
    FailureInput,
    FailureStarted,
    FireInput,
    FireResult,
)
from app import temporal
from app.config import Settings
from app.services import admission, composition, maintenance, threshold_firing
from app.services.errors import DomainError
from workflows.flow import GateRequest
from workflows.models import RunInput

SLOT_TAKEN = "slot_taken"


class ServiceActivities:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions

    @activity.defn(name=ADMIT_ACTIVITY)
    async def admit_scheduled_run(self, input: AdmitInput) -> AdmitResult:
        if SLOT_TAKEN in activity.info().heartbeat_details:
            return AdmitResult(allowed=True)  # an earlier attempt counted this run
        result = await admission.admit(self.sessions, activity.client(), self.settings, input,
                                       temporal_id=activity.info().workflow_id)
        if result.allowed:
            activity.heartbeat(SLOT_TAKEN)
        else:
            activity.logger.info("scheduled run refused: %s", result.reason,
                                 extra={"tenant_id": input.tenant_id, "workflow_id": input.workflow_id})
        return result

    @activity.defn(name=FIRE_ACTIVITY)
    async def fire_threshold(self, input: FireInput) -> FireResult:
        try:
            result = await threshold_firing.fire(self.sessions, activity.client(), self.settings, input,
                                                 retried=activity.info().attempt > 1)
        except DomainError as error:
            # A refusal that may pass later (Temporal away, a quota) is retried; any other
            # (disabled, circuit breaker, no published version, not found) is an answer, not a fault.
            raise ApplicationError(error.message, type=error.kind, non_retryable=not error.retryable) from None
        activity.logger.info("threshold fired", extra={"tenant_id": input.tenant_id,
                                                       "workflow_id": input.workflow_id,
                                                       "instance_id": result.instance_id})
        return result

    @activity.defn(name=PRUNE_ACTIVITY)
    async def prune_expired(self) -> dict[str, int]:
        return await maintenance.prune(self.sessions)

    @activity.defn(name=RECONCILE_ACTIVITY)
    async def reconcile_schedules(self) -> dict[str, int]:
        return await maintenance.reconcile_schedules(self.sessions, activity.client(), self.settings)

    @activity.defn(name=CALL_ACTIVITY)
    async def prepare_call(self, input: CallInput) -> CallPrepared:
        """A call_workflow's child: resolved and counted once (the heartbeat marks it counted)."""
        admitted = SLOT_TAKEN in activity.info().heartbeat_details
        try:
            prepared = await composition.prepare_call(self.sessions, activity.client(), self.settings, input,
                                                      admitted=admitted)
        except DomainError as error:  # a refused call fails the step; only Temporal being away is retried
            raise ApplicationError(error.message, type=error.kind,
                                   non_retryable=error.kind != "temporal_unavailable") from None
        activity.heartbeat(SLOT_TAKEN)
        return prepared

    @activity.defn(name=FAILURE_ACTIVITY)
    async def start_failure_workflow(self, input: FailureInput) -> FailureStarted:
        result = await composition.start_failure_workflow(self.sessions, activity.client(), self.settings, input)
        if result.instance_id is not None:
            activity.logger.info("failure workflow started", extra={
                "tenant_id": input.tenant_id, "workflow_id": input.workflow_id, "instance_id": result.instance_id})
        return result

    @activity.defn(name=FLOW_ENQUEUE_ACTIVITY)
    async def flow_enqueue(self, request: GateRequest) -> None:
        """A run asks its flow-control gate for admission (signal-with-start; the gate takes it once)."""
        tenant_id = (activity.info().workflow_id or "").partition(":")[0]
        await temporal.enqueue(activity.client(), self.settings, tenant_id, request)

    @activity.defn(name=FLOW_START_ACTIVITY)
    async def flow_start(self, run: RunInput) -> None:
        """A debounce/batch collector starts the run it opened (the API starts it too: once is enough)."""
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await temporal.start_run(activity.client(), self.settings, run, trigger_type=run.trigger.type, queued=True,
                                     id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)

    @activity.defn(name=FLOW_CLOSED_ACTIVITY)
    async def flow_closed(self, run_ids: list[str]) -> list[str]:
        """Which of a concurrency gate's holders have ended (or are gone)."""
        return [run_id for run_id in run_ids if not await temporal.still_open(activity.client(), run_id)]

    def list(self) -> list[Callable[..., Any]]:
        return [self.admit_scheduled_run, self.fire_threshold, self.prune_expired, self.reconcile_schedules,
                self.prepare_call, self.start_failure_workflow, self.flow_enqueue, self.flow_start, self.flow_closed]
