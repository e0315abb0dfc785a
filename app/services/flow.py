"""The API's side of flow control (SPEC §2.7; docs/flow-control.md): where a new run waits.

A run with `concurrency`/`throttle` starts `queued` and is put in its first gate's queue at once
(the run asks again itself: that is the durable path). A `debounce`/`batch` start first asks its
collector which instance it belongs to: a start that joins an open burst or batch starts nothing.
"""

from __future__ import annotations

import time

import structlog
from temporalio.client import Client

from app import temporal
from app.config import Settings
from workflows.collector import CollectRequest, collector_for
from workflows.context import base_context
from workflows.flow import CollectGate, Gate, GateRequest, gates
from workflows.models import RunInput

log = structlog.get_logger("relay.flow")


class Waits:
    """The gates and the collector a run passes."""

    def __init__(self, run: RunInput) -> None:
        flow = run.definition.flow_control
        context = base_context(run, "", run.instance_id)
        self.run = run
        self.gates: list[Gate] = gates(flow, tenant_id=run.tenant_id, workflow_id=run.workflow_id, context=context)
        self.collector: CollectGate | None = collector_for(run, context)

    @property
    def queued(self) -> bool:
        return bool(self.gates) or self.collector is not None

    async def joined(self, client: Client, settings: Settings) -> str | None:
        """Debounce, batch: the instance id of the open burst or batch this start joins; None when
        the start opens one (its run is then started like any other) or has no collector."""
        if self.collector is None:
            return None
        owner = await temporal.collect(client, settings, CollectRequest(gate=self.collector, run=self.run))
        return None if owner == self.run.instance_id else owner

    async def enqueue(self, client: Client, settings: Settings) -> None:
        """Put the new run in its first gate's queue now, stamped with the time its run started (about
        now): the queue's order. Best effort: the run asks again itself (stamped with its Temporal start
        time) unless admitted within 15 s, and the gate takes it once."""
        if not self.gates or self.collector is not None:
            return
        request = GateRequest(run_id=temporal.temporal_workflow_id(self.run.tenant_id, self.run.instance_id),
                              arrived_at=time.time(), gate=self.gates[0])  # just after its start
        try:
            await temporal.enqueue(client, settings, self.run.tenant_id, request)
        except Exception as error:  # noqa: BLE001 - the run's own request admits it
            log.warning("flow.enqueue_deferred", gate=request.gate.gate_id, error=str(error))
