"""RelayWorkflow: interprets a definition snapshot, block by block (SPEC §4).

The parts, each one job: workflows/blocks.py walks blocks (loops.py: for_each), actions.py
runs an action step and reads its failure, records.py keeps the step records, runtime.py holds
what they share. Here: the run itself, continue-as-new between top-level blocks, admission of
scheduled runs, the `state` query and the `event` signal.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.models import (
        ADMIT_ACTIVITY,
        FAILURE_ACTIVITY,
        AdmitInput,
        AdmitResult,
        FailureInput,
        FailureStarted,
    )
    from workflows.approvals import approval_ids, decide, link_context
    from workflows.blocks import BlockWalker, Stopped
    from workflows.context import Scope, base_context
    from workflows.definition import ForEachBlock
    from workflows.flow import ADMIT_SIGNAL
    from workflows.flowrun import FLOW_PATCH, FlowPass
    from workflows.models import (
        APPROVAL_UPDATE,
        EVENT_SIGNAL,
        RELAY_WORKFLOW,
        STATE_QUERY,
        Admission,
        ApprovalAnswer,
        ApprovalDecision,
        Continuation,
        EventSignal,
        RunInput,
        RunState,
    )
    from workflows.runtime import RunContext, TopLoop


@workflow.defn(name=RELAY_WORKFLOW)
class RelayWorkflow:
    @workflow.init
    def __init__(self, run: RunInput) -> None:
        # The Temporal id is "<tenant>:<instance>"; a schedule appends its time to the id it was
        # given, so each scheduled run has its own instance id (and idempotency keys).
        instance_id = workflow.info().workflow_id.partition(":")[2] or run.instance_id
        self.run_context = RunContext(input=run, state=RunState(trigger=run.trigger, retry_of=run.retry_of),
                                      instance_id=instance_id)
        self.walker = BlockWalker(self.run_context)
        # SPEC §2.7; a dry run waits for no gate (its actions are not sent anyway)
        gated = run.definition.flow_control is not None and not run.dry_run
        self.flow = FlowPass(run, instance_id) if gated else None

    @property
    def state(self) -> RunState:
        return self.run_context.state

    @workflow.run
    async def run(self, run: RunInput) -> RunState:
        context = self.run_context
        context.nonce = workflow.uuid4().hex
        first_run = run.continuation is None and run.retry_of is None  # admitted once, by its schedule
        scheduled = run.trigger.type == "schedule" and first_run
        if scheduled and workflow.patched("schedule-admission-v1") and not await self._admitted(run):
            return self.state
        flow = self.flow
        if flow is not None and workflow.patched(FLOW_PATCH):  # SPEC §2.7: wait for admission
            if run.continuation is None:
                try:
                    await flow.enter(run)
                except asyncio.CancelledError:
                    self.state.status = "cancelled"
                    raise
                if flow.trigger is not None:  # debounce, batch: the collected trigger
                    run.trigger = self.state.trigger = flow.trigger
            else:
                flow.resume()
        try:
            return await self._body(run)
        except workflow.ContinueAsNewError:
            flow = None  # the instance goes on: its next run holds the slot
            raise
        finally:
            if flow is not None:
                await flow.release()

    async def _body(self, run: RunInput) -> RunState:
        context = self.run_context
        scope = Scope(base=base_context(run, workflow.now().isoformat(), context.instance_id))
        if approval_ids(run.definition.workflow_blocks):  # SPEC §2.4: the links render from the start
            scope.base["approvals"] = link_context(run.definition, context.nonce)
        try:
            await self._top_level(run, scope)
        except Stopped:
            pass
        except asyncio.CancelledError:
            self.state.status = "cancelled"
            raise
        except ApplicationError as error:
            self.state.status = "failed"
            self.state.error = error.message
            await self._failure_workflow(run)
            raise
        self.state.status = "completed"
        self.state.current_step = None
        return self.state

    async def _top_level(self, run: RunInput, scope: Scope) -> None:
        """The top-level blocks, continuing as new between them (and between a top-level
        for_each's iterations) when the history grows long, carrying all state."""
        context = self.run_context
        continuation = run.continuation
        start = 0
        if continuation is not None:
            context.state = continuation.state
            scope.local.update(continuation.outputs)
            start = continuation.block_index
        blocks = run.definition.workflow_blocks
        for index in range(start, len(blocks)):
            if index > start and context.continue_due():
                context.continue_as_new(scope, Continuation(block_index=index, state=context.state))
            block = blocks[index]
            context.top_loop = None
            if isinstance(block, ForEachBlock):
                context.top_loop = TopLoop(block_index=index)
                if continuation is not None and index == start and continuation.loop_next is not None:
                    context.top_loop.next_index = continuation.loop_next
                    context.top_loop.results = list(continuation.loop_results)
            await self.walker.block(block, scope)

    async def _admitted(self, run: RunInput) -> bool:
        """Scheduled runs start without the API, so they take their circuit-breaker slot here."""
        admit = await workflow.execute_activity(
            ADMIT_ACTIVITY, AdmitInput(tenant_id=run.tenant_id, workflow_id=run.workflow_id),
            result_type=AdmitResult, start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(seconds=10)))
        if not admit.allowed:
            self.state.status = "completed"
            self.state.stop_reason = f"not run: {admit.reason}"
        return admit.allowed

    async def _failure_workflow(self, run: RunInput) -> None:
        """SPEC §3.4: a failed run starts its workflow's failure workflow, if it has one (read when
        the run fails, so a setting changed meanwhile counts). Dry runs and failure runs never do."""
        if run.dry_run or run.trigger.type == "failure" or not workflow.patched("failure-workflow-v1"):
            return
        state = self.state
        failed = next((step.id for step in reversed(state.steps.values()) if step.status == "failed"),
                      state.current_step)  # a stop block with status failed fails the run without failing
        try:
            await workflow.execute_activity(
                FAILURE_ACTIVITY, FailureInput(tenant_id=run.tenant_id, workflow_id=run.workflow_id,
                                               workflow_name=run.workflow_name, status="failed", error=state.error,
                                               instance_id=self.run_context.instance_id, failed_step=failed),
                result_type=FailureStarted, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3, maximum_interval=timedelta(seconds=5)))
        except ActivityError as error:  # the run's own failure is what it reports
            workflow.logger.warning("failure workflow not started: %s", error.cause or error)

    @workflow.update(name=APPROVAL_UPDATE)
    def on_approval(self, decision: ApprovalDecision) -> ApprovalAnswer:
        return decide(self.state, self.run_context.input.definition, decision)

    @workflow.query(name=STATE_QUERY)
    def query_state(self) -> RunState:
        return self.state

    @workflow.signal(name=ADMIT_SIGNAL)
    def on_admit(self, admission: Admission) -> None:
        if self.flow is not None:
            self.flow.on_admit(admission)

    @workflow.signal(name=EVENT_SIGNAL)
    def on_event(self, signal: EventSignal) -> None:
        # Kept until a wait_for_event block with that name takes it (also when it arrives early).
        self.state.pending_events.setdefault(signal.name, []).append(signal.payload)
