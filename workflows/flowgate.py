"""RelayFlowGate: one coordinator per (tenant, workflow, kind, key) that admits runs (SPEC §2.7).

Runs enter by signal-with-start (`flow_enqueue`, from the API at once and from the run itself, which
makes it durable: the queue is this workflow's state), are admitted in arrival order by a
`flow_admit` signal, and a concurrency gate gets its slot back by `flow_release` when the run ends
or is cancelled (also while queued: then it just leaves the queue). A throttle gate admits at most
`limit` runs per sliding `period`. Idle, the gate ends; its history is bounded by continue-as-new.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.models import FLOW_CLOSED_ACTIVITY
    from workflows.flow import ADMIT_SIGNAL, ENQUEUE_SIGNAL, GATE_WORKFLOW, RELEASE_SIGNAL, Gate, GateRequest
    from workflows.models import Admission

IDLE = timedelta(seconds=60)  # an empty gate waits this long for another start before it ends
CHECK_HOLDERS = timedelta(seconds=30)  # starts waiting and no release this long: ask which holders have ended
MAX_EVENTS = 2000  # continue as new past this many history events
RECENT = 500  # released run ids remembered, so a late duplicate enqueue is not admitted twice


class GateState(BaseModel):
    gate: Gate
    queue: list[GateRequest] = Field(default_factory=list)
    holders: list[str] = Field(default_factory=list)  # concurrency: the runs admitted and not ended
    window: list[float] = Field(default_factory=list)  # throttle: admission times within the period
    recent: list[str] = Field(default_factory=list)


@workflow.defn(name=GATE_WORKFLOW)
class FlowGate:
    @workflow.init
    def __init__(self, state: GateState) -> None:
        self.state = state

    @workflow.run
    async def run(self, state: GateState) -> None:
        while True:
            await self._admit_ready()
            if self._admissible():  # a release or a start arrived while admitting
                continue
            idle = not (self.state.queue or self.state.holders or self.state.window)
            stuck = self.state.gate.kind == "concurrency" and bool(self.state.queue)
            timeout = IDLE if idle else CHECK_HOLDERS if stuck else self._next_free()
            # Wake only when a start can be admitted: a start that joins a full queue costs the
            # gate no timer and no command, however many arrive.
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(self._admissible, timeout=timeout)
            if stuck and not self._admissible():
                await self._drop_ended_holders()
            self._expire_window()
            if not (self.state.queue or self.state.holders or self.state.window):
                return
            if workflow.info().get_current_history_length() > MAX_EVENTS:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.state)

    def _admissible(self) -> bool:
        return bool(self.state.queue) and self._has_room()

    def _has_room(self) -> bool:
        """Room for one more run: a free slot (concurrency), or fewer than `limit` admissions within
        the last period (throttle)."""
        gate = self.state.gate
        if gate.kind == "concurrency":
            return len(self.state.holders) < gate.limit
        now = self._now()
        return sum(1 for at in self.state.window if at + gate.period_seconds > now) < gate.limit

    async def _drop_ended_holders(self) -> None:
        """A run that was terminated (not cancelled) never released its slot: find it by asking."""
        ended: list[str] = await workflow.execute_activity(
            FLOW_CLOSED_ACTIVITY, list(self.state.holders), result_type=list[str],
            start_to_close_timeout=timedelta(seconds=30))
        for run_id in ended:
            self._release(run_id)

    def _now(self) -> float:
        return workflow.now().timestamp()

    def _expire_window(self) -> None:
        period = self.state.gate.period_seconds
        now = self._now()
        self.state.window = [at for at in self.state.window if at + period > now]

    def _next_free(self) -> timedelta | None:
        if self.state.gate.kind != "throttle" or not self.state.window:
            return None
        wait = self.state.window[0] + self.state.gate.period_seconds - self._now()
        return timedelta(seconds=max(wait, 0.001))

    async def _admit_ready(self) -> None:
        gate = self.state.gate
        admitted = []
        self._expire_window()
        while self._admissible():
            request = self.state.queue.pop(0)
            if gate.kind == "concurrency":
                self.state.holders.append(request.run_id)
            else:
                self.state.window.append(self._now())
                self._remember(request.run_id)
            admitted.append(request.run_id)
        if admitted:
            await asyncio.gather(*(self._admit(run_id) for run_id in admitted))

    async def _admit(self, run_id: str) -> None:
        try:
            admission = Admission(kind=self.state.gate.kind)
            await workflow.get_external_workflow_handle(run_id).signal(ADMIT_SIGNAL, admission)
        except Exception:  # noqa: BLE001 - the run has ended meanwhile (cancelled, terminated): slot free
            self._release(run_id)

    def _remember(self, run_id: str) -> None:
        self.state.recent.append(run_id)
        del self.state.recent[:-RECENT]

    def _release(self, run_id: str) -> None:
        if run_id in self.state.holders:
            self.state.holders.remove(run_id)
            self._remember(run_id)

    @workflow.signal(name=ENQUEUE_SIGNAL)
    def enqueue(self, request: GateRequest) -> None:
        self.state.gate = request.gate  # the settings of the latest version that asked
        run_id = request.run_id
        known = run_id in self.state.holders or run_id in self.state.recent
        if known or any(queued.run_id == run_id for queued in self.state.queue):
            return  # the API and the run both ask: once is enough
        position = len(self.state.queue)
        while position and self.state.queue[position - 1].arrived_at > request.arrived_at:
            position -= 1
        self.state.queue.insert(position, request)

    @workflow.signal(name=RELEASE_SIGNAL)
    def release(self, run_id: str) -> None:
        before = len(self.state.queue)
        self.state.queue = [queued for queued in self.state.queue if queued.run_id != run_id]
        if len(self.state.queue) != before:
            self._remember(run_id)  # cancelled while queued: it never takes a slot
        self._release(run_id)
