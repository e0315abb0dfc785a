"""A call_workflow step (SPEC §2.4): another workflow of the tenant as a child run.

The callee's version is resolved, and the call counted against its circuit breaker and its
tenant's quotas, by the `prepare_call` activity (app/services/calls.py), under the child's
Temporal id; then the child is a RelayWorkflow of its own (`inst_…` id, the usual search
attributes, `trigger.type` "call"), so it is listed, read and retried like any run. Waited
(`wait: true`, the default) the child is cancelled with its parent and its failure fails the
step; not waited it is abandoned to run on its own.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, is_cancelled_exception
from temporalio.workflow import ChildWorkflowCancellationType, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.models import CALL_ACTIVITY, CallInput, CallPrepared
    from relay_common.failures import Failure
    from workflows.context import Scope
    from workflows.definition import CallWorkflowBlock
    from workflows.expressions import ExpressionError
    from workflows.flow import priority_of, run_priority
    from workflows.models import RELAY_WORKFLOW, RunInput, RunState, StepRecord, TriggerInfo, search_attributes
    from workflows.records import USER_ERRORS, StepRecords, user_error
    from workflows.runtime import RunContext

MAX_CALL_DEPTH = 8  # a run this many calls deep may not call again
CALL_PRIORITY_PATCH = "call-priority-v1"  # the child gets its callee's flow_control.priority


class CallFailed(Exception):
    """The call did not give a completed child: why, and the child's id if it had one."""

    def __init__(self, message: str, kind: str, instance_id: str | None = None) -> None:
        super().__init__(message)
        self.message, self.kind, self.instance_id = message, kind, instance_id


class Calls:
    def __init__(self, run: RunContext, records: StepRecords) -> None:
        self.run, self.records = run, records

    async def run_step(self, block: CallWorkflowBlock, scope: Scope) -> None:
        record = self.records.start(block, scope)
        try:
            output = await self._call(block, record, scope)
        except asyncio.CancelledError:
            self.records.end(record, scope, "cancelled")
            raise
        except USER_ERRORS as error:
            self.records.end(record, scope, "failed", error=str(error), error_type=Failure.USER_ERROR)
            raise user_error(block.id, error) from None
        except CallFailed as failed:
            output = {"instance_id": failed.instance_id, "status": "failed"} if failed.instance_id else None
            self.records.end(record, scope, "failed", output=output, error=failed.message, error_type=failed.kind)
            if block.on_error == "continue":
                return
            raise ApplicationError(f"step {block.id} failed: {failed.message}", type=Failure.STEP_FAILED,
                                   non_retryable=True) from None
        record.attempts = 1
        self.records.end(record, scope, "completed", output=output)

    async def _call(self, block: CallWorkflowBlock, record: StepRecord, scope: Scope) -> Any:
        inputs = block.inputs
        data = self.records.render(inputs.data, record, scope)
        if not isinstance(data, dict):
            raise ExpressionError(f"inputs.data must render to an object, got {type(data).__name__}")
        run = self.run.input
        if run.dry_run:
            return run.mocks.get(block.id, {"dry_run": True, "would_call": {
                "workflow_id": inputs.workflow_id, "version": inputs.version, "data": data, "wait": inputs.wait}})
        if run.call_depth >= MAX_CALL_DEPTH:
            raise CallFailed(f"calls nest at most {MAX_CALL_DEPTH} deep; this run is at depth {run.call_depth}",
                             Failure.CALL_DEPTH_EXCEEDED)
        child_id = f"inst_{workflow.uuid4().hex}"
        temporal_id = f"{run.tenant_id}:{child_id}"
        prepared = await self._prepare(block, temporal_id)
        trigger = TriggerInfo(type="call", data=data, received_at=workflow.now(),
                              parent={"instance_id": self.run.instance_id,
                                      "step_id": self.records.step_key(block.id, scope)})
        child = RunInput(tenant_id=run.tenant_id, tenant_name=prepared.tenant_name, instance_id=child_id,
                         workflow_id=inputs.workflow_id, workflow_name=prepared.workflow_name,
                         version=prepared.version, definition=prepared.definition, trigger=trigger,
                         depth=run.depth, call_depth=run.call_depth + 1)
        priority = run_priority(run.tenant_id)
        if workflow.patched(CALL_PRIORITY_PATCH):  # SPEC §2.7: the callee's priority, as any start of it
            priority = run_priority(run.tenant_id, priority_of(prepared.definition.flow_control))
        handle = await workflow.start_child_workflow(
            RELAY_WORKFLOW, child, id=temporal_id, task_queue=workflow.info().task_queue, result_type=RunState,
            search_attributes=search_attributes(tenant_id=run.tenant_id, workflow_id=inputs.workflow_id,
                                                version=prepared.version, trigger_type="call", entity_id=None),
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL if inputs.wait else ParentClosePolicy.ABANDON,
            # a cancelled parent asks its child to cancel and ends at once as cancelled (the child's
            # own cancellation, e.g. by the API, is a failure of the step)
            cancellation_type=ChildWorkflowCancellationType.TRY_CANCEL,
            priority=priority)
        record.output = {"instance_id": child_id}  # readable while the child runs
        if not inputs.wait:
            return {"instance_id": child_id}
        record.status = "waiting"
        try:
            state: RunState = await handle
        except ChildWorkflowError as error:
            task = asyncio.current_task()
            if is_cancelled_exception(error) and task is not None and task.cancelling():
                raise asyncio.CancelledError() from None  # this run was cancelled, and so its child
            cause = error.cause
            message = getattr(cause, "message", None) or str(cause or error)
            raise CallFailed(f"the called run {child_id} ended: {message}",
                             getattr(cause, "type", None) or Failure.CALL_FAILED, child_id) from None
        record.status = "running"
        outputs = {step_id: step.output for step_id, step in state.steps.items()}
        return {"instance_id": child_id, "status": state.status, "outputs": outputs}

    async def _prepare(self, block: CallWorkflowBlock, temporal_id: str) -> CallPrepared:
        run = self.run.input
        try:
            return await workflow.execute_activity(
                CALL_ACTIVITY, CallInput(tenant_id=run.tenant_id, workflow_id=block.inputs.workflow_id,
                                         version=block.inputs.version, temporal_id=temporal_id),
                result_type=CallPrepared, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(seconds=10)))
        except ActivityError as error:
            cause = error.cause
            if is_cancelled_exception(cause or error):
                raise asyncio.CancelledError() from None
            message = getattr(cause, "message", None) or str(cause or error)
            kind = getattr(cause, "type", None)
            raise CallFailed(f"the call of {block.inputs.workflow_id} was refused: {message}",
                             kind if isinstance(kind, str) else Failure.CALL_FAILED) from None
