"""RelayFlowCollector: one per (tenant, workflow, kind, key) for `debounce` and `batch` (SPEC §2.7).

Each start reaches it by update-with-start (`flow_collect`), which answers at once with the instance
id the start belongs to: the open burst's/batch's, or the start's own when it opens one. The
collector starts that run (activity `flow_start`, idempotent; the API starts it too, so it is
readable at once) and, when it is due, hands it its trigger by the `flow_admit` signal:
debounce — `period` after the last start or `max_wait` after the first, with the last trigger;
batch — at `max_size` starts or `timeout` after the first, with `trigger.events` (oldest first)
and the last start's data. A run cancelled while it waits leaves by `flow_release`.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.models import FLOW_START_ACTIVITY
    from workflows.flow import (
        ADMIT_SIGNAL,
        COLLECT_UPDATE,
        COLLECTOR_WORKFLOW,
        RELEASE_SIGNAL,
        CollectGate,
        collect_gate,
    )
    from workflows.models import Admission, RunInput, TriggerInfo

IDLE = timedelta(seconds=60)
MAX_EVENTS = 2000
MAX_HISTORY_BYTES = 8 * 1024 * 1024


class CollectRequest(BaseModel):
    gate: CollectGate
    run: RunInput  # the start's run, as it would start if it opens a burst


class Pending(BaseModel):
    run: RunInput  # the run that opened it (its instance id is every start's answer)
    first_at: float
    last_at: float
    triggers: list[TriggerInfo] = Field(default_factory=list)
    started: bool = False


class CollectorState(BaseModel):
    gate: CollectGate
    open: Pending | None = None
    full: list[Pending] = Field(default_factory=list)  # batches that reached max_size, not yet handed over


def collector_for(run: RunInput, context: dict[str, Any]) -> CollectGate | None:
    """The debounce/batch collector a start goes through. A retry (it resumes one instance's steps)
    and a schedule's run (started by Temporal, already spaced by its schedule) go through none."""
    if run.retry_of is not None or run.trigger.type == "schedule":
        return None
    return collect_gate(run.definition.flow_control, tenant_id=run.tenant_id, workflow_id=run.workflow_id,
                        context=context)


def temporal_id(run: RunInput) -> str:
    return f"{run.tenant_id}:{run.instance_id}"


@workflow.defn(name=COLLECTOR_WORKFLOW)
class FlowCollector:
    @workflow.init
    def __init__(self, state: CollectorState) -> None:
        self.state = state
        self.changed = False

    @workflow.run
    async def run(self, state: CollectorState) -> None:
        while True:
            self.changed = False
            for pending in [*self.state.full, *([self.state.open] if self.state.open else [])]:
                if not pending.started:
                    await workflow.execute_activity(FLOW_START_ACTIVITY, pending.run,
                                                    start_to_close_timeout=timedelta(seconds=30),
                                                    retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)))
                    pending.started = True
            await self._hand_over()
            if self.changed:  # a start arrived meanwhile: start its run first
                continue
            wait = self._until_due()
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(lambda: self.changed, timeout=IDLE if wait is None else wait)
            if not self.changed and self.state.open is None and not self.state.full:
                return
            info = workflow.info()
            if info.get_current_history_length() > MAX_EVENTS or info.get_current_history_size() > MAX_HISTORY_BYTES:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.state)

    def _due_at(self, pending: Pending) -> float:
        gate = self.state.gate
        if gate.kind == "batch":
            return pending.first_at + gate.timeout_seconds
        due = pending.last_at + gate.period_seconds
        if gate.max_wait_seconds is not None:
            due = min(due, pending.first_at + gate.max_wait_seconds)
        return due

    def _until_due(self) -> timedelta | None:
        if self.state.full:
            return timedelta(0)
        if self.state.open is None:
            return None
        return timedelta(seconds=max(self._due_at(self.state.open) - workflow.now().timestamp(), 0.001))

    async def _hand_over(self) -> None:
        ready = [pending for pending in self.state.full if pending.started]
        self.state.full = [pending for pending in self.state.full if not pending.started]
        opened = self.state.open
        if opened is not None and opened.started and self._due_at(opened) <= workflow.now().timestamp():
            ready.append(opened)
            self.state.open = None
        for pending in ready:
            last = pending.triggers[-1]
            trigger = last
            if self.state.gate.kind == "batch":
                events = [t.model_dump(mode="json", exclude={"events"}) for t in pending.triggers]
                trigger = last.model_copy(update={"events": events})
            try:
                await workflow.get_external_workflow_handle(temporal_id(pending.run)).signal(
                    ADMIT_SIGNAL, Admission(kind=self.state.gate.kind, trigger=trigger))
            except Exception:  # noqa: BLE001 - the run was cancelled meanwhile: nothing to hand over
                workflow.logger.info("collected run %s is gone", pending.run.instance_id)

    @workflow.update(name=COLLECT_UPDATE)
    def collect(self, request: CollectRequest) -> str:
        """The instance id this start belongs to."""
        self.state.gate = request.gate
        now = workflow.now().timestamp()
        self.changed = True
        opened = self.state.open
        if opened is None:
            self.state.open = Pending(run=request.run, first_at=now, last_at=now, triggers=[request.run.trigger])
            opened = self.state.open
        else:
            opened.last_at = now
            opened.triggers.append(request.run.trigger)
        if self.state.gate.kind == "batch" and len(opened.triggers) >= self.state.gate.max_size:
            self.state.full.append(opened)
            self.state.open = None
        return opened.run.instance_id

    @workflow.signal(name=RELEASE_SIGNAL)
    def release(self, run_id: str) -> None:
        """A run cancelled while it waits: later starts open a new burst."""
        if self.state.open is not None and temporal_id(self.state.open.run) == run_id:
            self.state.open = None
        self.state.full = [pending for pending in self.state.full if temporal_id(pending.run) != run_id]
        self.changed = True
