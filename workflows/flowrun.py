"""A run's side of flow control (SPEC §2.7): wait in each gate until admitted, give the
concurrency slot back when the instance ends (deterministic; the gates are workflows/flowgate.py).

While it waits the run's `RelayQueued` search attribute is true (the API shows `queued`); a run
cancelled while queued leaves its gates and never runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.models import FLOW_ENQUEUE_ACTIVITY
    from workflows.collector import collector_for
    from workflows.context import base_context
    from workflows.flow import QUEUED_ATTRIBUTE, RELEASE_SIGNAL, Gate, GateRequest, gates
    from workflows.models import Admission, RunInput, TriggerInfo

FLOW_PATCH = "flow-control-v1"
CALL_UNCOLLECTED_PATCH = "flow-call-uncollected-v1"  # a call's child passes no debounce/batch collector
LEAVE_QUEUE_PATCH = "flow-leave-queue-v1"  # a run cancelled while queued leaves every gate's queue
ASK_AGAIN = timedelta(seconds=15)


class FlowPass:
    def __init__(self, run: RunInput, instance_id: str) -> None:
        context = base_context(run, "", instance_id)
        flow = run.definition.flow_control
        self.gates: list[Gate] = gates(flow, tenant_id=run.tenant_id, workflow_id=run.workflow_id, context=context)
        self.collector = collector_for(run, context)
        self.admitted: set[str] = set()
        self.entered: list[Gate] = []
        self.trigger: TriggerInfo | None = None  # the collected trigger a debounce or batch hands over

    def on_admit(self, admission: Admission) -> None:
        self.admitted.add(admission.kind)
        if admission.trigger is not None:
            self.trigger = admission.trigger

    async def _collected(self) -> None:
        """Debounce, batch: wait until the collector hands this run its trigger (it knows the run)."""
        collector = self.collector
        if collector is None:
            return
        try:
            await workflow.wait_condition(lambda: collector.kind in self.admitted)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await workflow.get_external_workflow_handle(collector.gate_id).signal(
                    RELEASE_SIGNAL, workflow.info().workflow_id)
            raise

    async def enter(self, run: RunInput) -> None:
        """Wait in each gate in turn (concurrency, then throttle); on cancel, leave them all."""
        if self.collector is not None and run.trigger.type == "call" and workflow.patched(CALL_UNCOLLECTED_PATCH):
            self.collector = None  # no collector knows a call's child (docs/flow-control.md)
        if not self.gates and self.collector is None:
            return
        info = workflow.info()
        arrived = info.start_time  # the queue's order: when the run started (the API stamps its request alike)
        marked = bool(info.typed_search_attributes.get(QUEUED_ATTRIBUTE))  # by the API, which enqueued it too
        if not marked:  # a schedule's run
            workflow.upsert_search_attributes([QUEUED_ATTRIBUTE.value_set(True)])
        await self._collected()
        try:
            for index, gate in enumerate(self.gates):
                self.entered.append(gate)
                request = GateRequest(run_id=info.workflow_id, arrived_at=arrived.timestamp(), gate=gate)
                await self._admitted(request, api_asked=marked and index == 0 and self.collector is None)
        except asyncio.CancelledError:
            if workflow.patched(LEAVE_QUEUE_PATCH):  # a throttle would count its admission: leave first
                await self._leave(g for g in self.entered if g.kind != "concurrency" and g.kind not in self.admitted)
            await self.release()
            raise
        workflow.upsert_search_attributes([QUEUED_ATTRIBUTE.value_unset()])

    async def _admitted(self, request: GateRequest, *, api_asked: bool) -> None:
        """Ask the gate (the durable path: the API's own request may have been lost with the API) and
        wait for its admission. The API asked the first gate already; that one is asked again only
        if no admission came within ASK_AGAIN, which spares an activity per start admitted quickly."""
        kind = request.gate.kind
        if api_asked:
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(lambda: kind in self.admitted, timeout=ASK_AGAIN)
        if kind not in self.admitted:
            await workflow.execute_activity(
                FLOW_ENQUEUE_ACTIVITY, request, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)))
            await workflow.wait_condition(lambda: kind in self.admitted)

    async def release(self) -> None:
        """Give back the concurrency slot (or leave its queue): the instance has ended."""
        await self._leave(gate for gate in self.entered if gate.kind == "concurrency")
        self.entered = []

    async def _leave(self, left: Iterable[Gate]) -> None:
        run_id = workflow.info().workflow_id
        for gate in left:
            try:
                await workflow.get_external_workflow_handle(gate.gate_id).signal(RELEASE_SIGNAL, run_id)
            except Exception:  # noqa: BLE001 - no gate running: nothing held
                workflow.logger.warning("flow gate %s was not there to release", gate.gate_id)

    def resume(self) -> None:
        """A continued run of an admitted instance holds its slot too."""
        self.entered = list(self.gates)
