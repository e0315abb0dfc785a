"""Walking blocks (SPEC §4): the control blocks here, action steps in workflows/actions.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from relay_common.failures import Failure
    from workflows import conditions, expressions
    from workflows.actions import ActionSteps
    from workflows.approvals import ApprovalWaits
    from workflows.calls import Calls
    from workflows.context import Scope
    from workflows.definition import (
        ActionBlock,
        ApprovalBlock,
        CallWorkflowBlock,
        DelayBlock,
        ForEachBlock,
        IfElseBlock,
        ParallelBlock,
        StopBlock,
        WaitForEventBlock,
    )
    from workflows.durations import parse_duration
    from workflows.loops import ForEachLoop
    from workflows.models import StepRecord
    from workflows.records import USER_ERRORS, StepRecords, user_error
    from workflows.runtime import Block, RunContext


class Stopped(Exception):
    """A stop block with status completed ends the run early."""


class BlockWalker:
    def __init__(self, run: RunContext) -> None:
        self.run = run
        self.records = StepRecords(run)
        self.actions = ActionSteps(run, self.records)
        self.loops = ForEachLoop(run, self.records, self.blocks)
        self.calls = Calls(run, self.records)
        self.approvals = ApprovalWaits(run, self.records, self.blocks)

    async def blocks(self, blocks: list[Block], scope: Scope) -> None:
        for block in blocks:
            await self.block(block, scope)

    async def block(self, block: Block, scope: Scope) -> None:
        if self.records.reuse(block, scope):
            return
        if isinstance(block, ActionBlock):
            await self.actions.run_step(block, scope)
            return
        if isinstance(block, CallWorkflowBlock):
            await self.calls.run_step(block, scope)
            return
        record = self.records.start(block, scope)
        try:
            output = await self._control(block, record, scope)
        except asyncio.CancelledError:
            self.records.end(record, scope, "cancelled")
            raise
        except USER_ERRORS as error:
            self.records.end(record, scope, "failed", error=str(error), error_type=Failure.USER_ERROR)
            raise user_error(block.id, error) from None
        except ApplicationError as error:
            if record.status == "running":
                self.records.end(record, scope, "failed", error=error.message, error_type=error.type)
            raise
        self.records.end(record, scope, "completed", output=output)

    async def _control(self, block: Block, record: StepRecord, scope: Scope) -> Any:
        if isinstance(block, IfElseBlock):
            result = conditions.evaluate_condition(block.inputs.condition, scope.context(), record.missing)
            record.branch = "then" if result else "else"
            await self.blocks(block.branches.then if result else block.branches.else_, scope)
            return {"result": result, "branch": record.branch}
        if isinstance(block, DelayBlock):
            return await self._delay(block, record, scope)
        if isinstance(block, WaitForEventBlock):
            return await self._wait(block, record, scope)
        if isinstance(block, ParallelBlock):
            names = list(block.branches)
            await asyncio.gather(*(self.blocks(block.branches[name], scope) for name in names))
            return {"branches": names}
        if isinstance(block, ForEachBlock):
            return await self.loops.walk_loop(block, record, scope)
        if isinstance(block, StopBlock):
            self._stop(block, record, scope)
        if isinstance(block, ApprovalBlock):
            return await self.approvals.wait(block, record, scope)
        raise ApplicationError(f"unknown block {block.id}", type=Failure.USER_ERROR, non_retryable=True)

    def _stop(self, block: StopBlock, record: StepRecord, scope: Scope) -> NoReturn:
        reason = self.records.render(block.inputs.reason, record, scope)
        self.run.state.stop_reason = reason or None
        if block.inputs.status == "failed":
            self.records.end(record, scope, "completed", output={"status": "failed", "reason": reason})
            raise ApplicationError(reason or f"stopped by {block.id}", type=Failure.STOPPED, non_retryable=True)
        self.records.end(record, scope, "completed", output={"status": "completed", "reason": reason})
        raise Stopped()

    async def _delay(self, block: DelayBlock, record: StepRecord, scope: Scope) -> Any:
        if block.inputs.until is not None:
            until = self.records.render(block.inputs.until, record, scope)
            try:
                target = datetime.fromisoformat(str(until).replace("Z", "+00:00"))
            except ValueError:
                raise expressions.ExpressionError(f"delay until needs an ISO date-time, got {until!r}") from None
            if target.tzinfo is None:  # no offset given: UTC (docs/decisions.md), as the run's own clock is
                target = target.replace(tzinfo=UTC)
            seconds = max(0.0, (target - workflow.now()).total_seconds())
        else:
            seconds = parse_duration(self.records.render(block.inputs.duration, record, scope)).total_seconds()
        record.status = "waiting"
        if seconds > 0 and not self.run.input.dry_run:
            await workflow.sleep(timedelta(seconds=seconds))
        return {"slept_seconds": seconds}

    async def _wait(self, block: WaitForEventBlock, record: StepRecord, scope: Scope) -> Any:
        name, pending = block.inputs.event, self.run.state.pending_events
        earlier = self.run.input.resume.get(block.id)
        if earlier is not None and earlier.branch and scope.iteration is None and workflow.patched("resume-v1"):
            # Retried after a failure inside this wait's branch: the event (or the timeout) already happened.
            if earlier.branch == "timeout":
                return await self._timed_out(block, record, scope)
            pending.setdefault(name, []).insert(0, earlier.output)
        elif self.run.input.dry_run:  # a mock is the event's payload; without one the wait times out
            if block.id not in self.run.input.mocks:
                return await self._timed_out(block, record, scope)
            pending.setdefault(name, []).append(self.run.input.mocks[block.id])
        timeout = parse_duration(block.inputs.timeout).total_seconds() if block.inputs.timeout else None
        record.status = "waiting"
        try:
            await workflow.wait_condition(lambda: bool(pending.get(name)), timeout=timeout)
        except TimeoutError:
            record.status = "running"
            return await self._timed_out(block, record, scope)
        payload = pending[name].pop(0)
        if not pending[name]:
            del pending[name]
        record.status, record.branch, record.output = "running", "received", payload
        scope.record(block.id, "running", payload)  # the branch may use {{this.output}}
        await self.blocks(block.branches.received, scope)
        return payload

    async def _timed_out(self, block: WaitForEventBlock, record: StepRecord, scope: Scope) -> None:
        record.branch = "timeout"
        await self.blocks(block.branches.timeout, scope)
        return None
