"""RelayWorkflow: interprets a definition snapshot, block by block (SPEC §4)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    RetryState,
    TimeoutError as ActivityTimeout,
    is_cancelled_exception,
)

with workflow.unsafe.imports_passed_through():
    from activities.models import ActionInput, ActionResult, AdmitInput, AdmitResult
    from workflows import expressions
    from workflows.context import Scope, base_context
    from workflows.definition import (
        ActionBlock,
        DelayBlock,
        ForEachBlock,
        IfElseBlock,
        ParallelBlock,
        RetrySpec,
        StopBlock,
        WaitForEventBlock,
    )
    from workflows.durations import DurationError, parse_duration
    from workflows.models import Continuation, EventSignal, RunInput, RunState, StepRecord

MAX_LOOP_RESULTS = 100
# A step whose timeout is at most this runs as a local activity: in the worker, inside the workflow
# task, recorded as a marker (one server round trip instead of three). A query or cancel that
# arrives meanwhile waits for the step, so only short, bounded steps qualify; see docs/decisions.md.
# Changing this value changes commands for new steps: it needs a new patch id.
LOCAL_STEP_MAX = timedelta(seconds=5)
USER_ERRORS = (expressions.ExpressionError, expressions.TemplateSyntaxError, DurationError)


def retry_backoff(retry: RetrySpec, attempt: int) -> timedelta:
    """The wait after failed attempt `attempt` (1-based), as Temporal's RetryPolicy computes it:
    initial_interval x backoff^(attempt-1), capped at max_interval. In float seconds and capped
    before it becomes a timedelta, which would overflow after ~15 attempts at backoff 10."""
    initial = parse_duration(retry.initial_interval).total_seconds()
    cap = parse_duration(retry.max_interval).total_seconds()
    exponent = min(attempt - 1, 1000)  # 1.0 ** 1000 is 1; anything larger than 1 is capped anyway
    try:
        seconds = min(initial * retry.backoff ** exponent, cap)
    except OverflowError:
        seconds = cap
    return timedelta(seconds=seconds)


class _Stopped(Exception):
    """A stop block with status completed ends the run early."""


class _LocalStepFailed(Exception):
    """A local step's last attempt failed: why, and how many attempts were made."""

    def __init__(self, cause: BaseException, attempt: int) -> None:
        super().__init__(str(cause))
        self.cause, self.attempt = cause, attempt


@workflow.defn(name="RelayWorkflow")
class RelayWorkflow:
    @workflow.init
    def __init__(self, run: RunInput) -> None:
        self.run_input = run
        self.state = RunState(trigger=run.trigger, retry_of=run.retry_of)
        self.nonce = ""
        self.iterations = 0  # for_each iterations in this run (continue-as-new counts them)
        self.top_loop: tuple[int, int, list[Any]] | None = None
        # The Temporal id is "<tenant>:<instance>"; a schedule appends its time to the id it was
        # given, so each scheduled run has its own instance id (and idempotency keys).
        self.instance_id = workflow.info().workflow_id.partition(":")[2] or run.instance_id

    @workflow.run
    async def run(self, run: RunInput) -> RunState:
        self.nonce = workflow.uuid4().hex
        first_run = run.continuation is None and run.retry_of is None  # admitted once, by its schedule
        if run.trigger.type == "schedule" and first_run and workflow.patched("schedule-admission-v1"):
            if not await self._admitted(run):
                return self.state
        scope = Scope(base=base_context(run, workflow.now().isoformat(), self.instance_id))
        try:
            await self._top_level(run, scope)
        except _Stopped:
            pass
        except asyncio.CancelledError:
            self.state.status = "cancelled"
            raise
        except ApplicationError as error:
            self.state.status = "failed"
            self.state.error = error.message
            raise
        self.state.status = "completed"
        self.state.current_step = None
        return self.state

    async def _top_level(self, run: RunInput, scope: Scope) -> None:
        """The top-level blocks, continuing as new between them (and between a top-level
        for_each's iterations) when the history grows long, carrying all state."""
        continuation = run.continuation
        start = 0
        if continuation is not None:
            self.state = continuation.state
            scope.local.update(continuation.outputs)
            start = continuation.block_index
        blocks = run.definition.workflow_blocks
        for index in range(start, len(blocks)):
            if index > start and self._continue_due():
                self._continue_as_new(scope, Continuation(block_index=index, state=self.state))
            block = blocks[index]
            self.top_loop = None
            if isinstance(block, ForEachBlock):
                resumed = continuation is not None and index == start and continuation.loop_next is not None
                self.top_loop = (index, continuation.loop_next if resumed else 0,
                                 list(continuation.loop_results) if resumed else [])
            await self._block(block, scope)

    def _continue_due(self) -> bool:
        every = self.run_input.continue_every
        due = (self.iterations >= every) if every else workflow.info().is_continue_as_new_suggested()
        return due and workflow.patched("continue-as-new-v1")

    def _continue_as_new(self, scope: Scope, continuation: Continuation) -> None:
        continuation.outputs = dict(scope.local)
        workflow.logger.info("continuing as new at block %s", continuation.block_index)
        workflow.continue_as_new(self.run_input.model_copy(update={"continuation": continuation}))

    async def _admitted(self, run: RunInput) -> bool:
        """Scheduled runs start without the API, so they take their circuit-breaker slot here."""
        admit = await workflow.execute_activity(
            "admit_scheduled_run", AdmitInput(tenant_id=run.tenant_id, workflow_id=run.workflow_id),
            result_type=AdmitResult, start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(seconds=10)))
        if not admit.allowed:
            self.state.status = "completed"
            self.state.stop_reason = f"not run: {admit.reason}"
        return admit.allowed

    @workflow.query(name="state")
    def query_state(self) -> RunState:
        return self.state

    @workflow.signal(name="event")
    def on_event(self, signal: EventSignal) -> None:
        # Kept until a wait_for_event block with that name takes it (also when it arrives early).
        self.state.pending_events.setdefault(signal.name, []).append(signal.payload)

    # ------------------------------------------------------------------ walking

    async def _blocks(self, blocks: list[Any], scope: Scope) -> None:
        for block in blocks:
            await self._block(block, scope)

    async def _block(self, block: Any, scope: Scope) -> None:
        if self._reuse(block, scope):
            return
        if isinstance(block, ActionBlock):
            await self._action(block, scope)
            return
        record = self._start(block, scope)
        try:
            output = await self._control(block, record, scope)
        except asyncio.CancelledError:
            self._end(record, scope, "cancelled")
            raise
        except USER_ERRORS as error:
            self._end(record, scope, "failed", error=str(error), error_type="UserError")
            raise ApplicationError(f"step {block.id}: {error}", type="UserError", non_retryable=True) from None
        except ApplicationError as error:
            if record.status == "running":
                self._end(record, scope, "failed", error=error.message, error_type=error.type)
            raise
        self._end(record, scope, "completed", output=output)

    async def _control(self, block: Any, record: StepRecord, scope: Scope) -> Any:
        if isinstance(block, IfElseBlock):
            result = expressions.evaluate_condition(block.inputs.condition, scope.context(), record.missing)
            record.branch = "then" if result else "else"
            await self._blocks(block.branches.then if result else block.branches.else_, scope)
            return {"result": result, "branch": record.branch}
        if isinstance(block, DelayBlock):
            return await self._delay(block, record, scope)
        if isinstance(block, WaitForEventBlock):
            return await self._wait(block, record, scope)
        if isinstance(block, ParallelBlock):
            names = list(block.branches)
            await asyncio.gather(*(self._blocks(block.branches[name], scope) for name in names))
            return {"branches": names}
        if isinstance(block, ForEachBlock):
            return await self._for_each(block, record, scope)
        if isinstance(block, StopBlock):
            reason = self._render(block.inputs.reason, record, scope)
            self.state.stop_reason = reason or None
            if block.inputs.status == "failed":
                self._end(record, scope, "completed", output={"status": "failed", "reason": reason})
                raise ApplicationError(reason or f"stopped by {block.id}", type="Stopped", non_retryable=True)
            self._end(record, scope, "completed", output={"status": "completed", "reason": reason})
            raise _Stopped()
        raise ApplicationError(f"unknown block {block.id}", type="UserError", non_retryable=True)

    async def _delay(self, block: DelayBlock, record: StepRecord, scope: Scope) -> Any:
        if block.inputs.until is not None:
            until = self._render(block.inputs.until, record, scope)
            try:
                target = datetime.fromisoformat(str(until).replace("Z", "+00:00"))
            except ValueError:
                raise expressions.ExpressionError(f"delay until needs an ISO date-time, got {until!r}") from None
            seconds = max(0.0, (target - workflow.now()).total_seconds())
        else:
            seconds = parse_duration(self._render(block.inputs.duration, record, scope)).total_seconds()
        record.status = "waiting"
        if seconds > 0 and not self.run_input.dry_run:
            await workflow.sleep(timedelta(seconds=seconds))
        return {"slept_seconds": seconds}

    async def _wait(self, block: WaitForEventBlock, record: StepRecord, scope: Scope) -> Any:
        name = block.inputs.event
        earlier = self.run_input.resume.get(block.id)
        if earlier is not None and earlier.branch and scope.iteration is None and workflow.patched("resume-v1"):
            # Retried after a failure inside this wait's branch: the event (or the timeout) already happened.
            if earlier.branch == "timeout":
                record.branch = "timeout"
                await self._blocks(block.branches.timeout, scope)
                return None
            self.state.pending_events.setdefault(name, []).insert(0, earlier.output)
        elif self.run_input.dry_run:  # a mock is the event's payload; without one the wait times out
            if block.id in self.run_input.mocks:
                self.state.pending_events.setdefault(name, []).append(self.run_input.mocks[block.id])
            else:
                record.branch = "timeout"
                await self._blocks(block.branches.timeout, scope)
                return None
        timeout = parse_duration(block.inputs.timeout).total_seconds() if block.inputs.timeout else None
        record.status = "waiting"
        try:
            await workflow.wait_condition(lambda: bool(self.state.pending_events.get(name)), timeout=timeout)
        except asyncio.TimeoutError:
            record.status, record.branch = "running", "timeout"
            await self._blocks(block.branches.timeout, scope)
            return None
        payload = self.state.pending_events[name].pop(0)
        if not self.state.pending_events[name]:
            del self.state.pending_events[name]
        record.status, record.branch, record.output = "running", "received", payload
        scope.record(block.id, "running", payload)  # the branch may use {{this.output}}
        await self._blocks(block.branches.received, scope)
        return payload

    async def _for_each(self, block: ForEachBlock, record: StepRecord, scope: Scope) -> Any:
        items = self._render(block.inputs.items, record, scope)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise expressions.ExpressionError(f"for_each items must be a list, got {type(items).__name__}")
        # Only a top-level loop can continue as new; it resumes at the first iteration not started.
        top = self.top_loop if scope.parent is None else None
        next_index, kept = (top[1], top[2]) if top else (0, [])
        results: list[Any] = kept + [None] * (min(len(items), MAX_LOOP_RESULTS) - len(kept))
        last_id = block.branches.do[-1].id if block.branches.do else None
        paused = False

        async def lane() -> None:
            nonlocal next_index, paused
            while next_index < len(items) and not paused:
                if top and self._continue_due():
                    paused = True
                    return
                index = next_index
                next_index += 1
                self.iterations += 1
                inner = scope.child(item=items[index], index=index)
                await self._blocks(block.branches.do, inner)
                if last_id is not None and index < MAX_LOOP_RESULTS:
                    results[index] = inner.local.get(last_id, {}).get("output")

        await asyncio.gather(*(lane() for _ in range(min(block.inputs.max_concurrency, len(items)) or 0)))
        if paused and top:
            self._continue_as_new(scope, Continuation(block_index=top[0], state=self.state, loop_next=next_index,
                                                      loop_results=results))
        output: dict[str, Any] = {"count": len(items), "results": results}
        if len(items) > MAX_LOOP_RESULTS:
            output["results_truncated"] = True  # step outputs stay small: the first 100 results are kept
        return output

    # ------------------------------------------------------------------ actions

    async def _action(self, block: ActionBlock, scope: Scope) -> None:
        record = self._start(block, scope)
        retry = block.retry
        try:  # a bad or templated duration is refused by validation, but a version stored earlier may have one
            rendered = expressions.render(block.input, scope.context(), secret_nonce=self.nonce)
            timeout = parse_duration(block.timeout)
            for interval in (retry.initial_interval, retry.max_interval):
                parse_duration(interval)
        except USER_ERRORS as error:
            self._end(record, scope, "failed", error=str(error), error_type="UserError")
            raise ApplicationError(f"step {block.id}: {error}", type="UserError", non_retryable=True) from None
        record.missing = rendered.missing
        if self.run_input.dry_run:
            record.attempts = 1
            output = self.run_input.mocks.get(block.id, {"dry_run": True, "would_send": rendered.value})
            self._end(record, scope, "completed", output=output)
            return
        action = ActionInput(
            tenant_id=self.run_input.tenant_id,
            instance_id=self.instance_id,
            step_id=self._step_key(block.id, scope),
            input=rendered.value,
            secret_nonce=self.nonce,
            depth=self.run_input.depth,
        )
        attempt = None
        try:
            if timeout <= LOCAL_STEP_MAX and workflow.patched("local-steps-v1"):
                result = await self._local_step(block, action, timeout)
            else:
                result = await workflow.execute_activity(
                    block.type, action, result_type=ActionResult, start_to_close_timeout=timeout,
                    retry_policy=RetryPolicy(
                        initial_interval=parse_duration(retry.initial_interval),
                        backoff_coefficient=retry.backoff,
                        maximum_interval=parse_duration(retry.max_interval),
                        maximum_attempts=retry.max_attempts,
                    ),
                )
        except asyncio.CancelledError:
            self._end(record, scope, "cancelled")
            raise
        except (ActivityError, _LocalStepFailed) as failure:
            if isinstance(failure, _LocalStepFailed):
                cause, attempt = failure.cause, failure.attempt
            else:
                cause = failure.cause
            if is_cancelled_exception(failure if cause is None else cause) and workflow.patched("cancel-during-action-v1"):
                # the run was cancelled while this step ran (TRY_CANCEL reports it as an activity
                # error): the step is cancelled and nothing after it runs, on_error notwithstanding
                self._end(record, scope, "cancelled")
                raise asyncio.CancelledError() from None
            message = getattr(cause, "message", None) or str(cause or failure)
            if attempt is None:
                details = getattr(cause, "details", None) or ()
                attempt = details[0].get("attempt") if details and isinstance(details[0], dict) else None
            if attempt is None:
                attempt = retry.max_attempts if failure.retry_state == RetryState.MAXIMUM_ATTEMPTS_REACHED else 1
            record.attempts = attempt
            kind = getattr(cause, "type", None)
            kind = kind if isinstance(kind, str) else type(cause).__name__  # a TimeoutError's type is an enum
            self._end(record, scope, "failed", error=message, error_type=kind)
            if block.on_error == "continue":
                return
            raise ApplicationError(f"step {block.id} failed: {message}", type="StepFailed", non_retryable=True) from None
        record.attempts = result.attempt
        self._end(record, scope, "completed", output=result.output)

    async def _local_step(self, block: ActionBlock, action: ActionInput, timeout: timedelta) -> ActionResult:
        """One attempt per local activity; the workflow retries, each wait on a durable timer, so
        the attempt count is exact and no backoff is held inside a workflow task."""
        retry = block.retry
        attempt = 1
        while True:
            try:
                result = await workflow.execute_local_activity(
                    block.type, action, result_type=ActionResult, activity_id=action.step_id,
                    start_to_close_timeout=timeout, retry_policy=RetryPolicy(maximum_attempts=1),
                )
                return result.model_copy(update={"attempt": attempt})
            except (ActivityError, ApplicationError, ActivityTimeout, CancelledError) as error:
                # A local activity's failure arrives bare (ApplicationError, TimeoutError) or, for a
                # timeout on first execution, wrapped in ActivityError: both are read the same way, so
                # a replay takes the same branch as the first execution did.
                cause = error.cause if isinstance(error, ActivityError) else error
                final = (is_cancelled_exception(cause or error) or attempt >= retry.max_attempts
                         or (isinstance(cause, ApplicationError) and cause.non_retryable))
                if final:
                    raise _LocalStepFailed(cause or error, attempt) from None
                delay = cause.next_retry_delay if isinstance(cause, ApplicationError) else None
                if delay is None:
                    delay = retry_backoff(retry, attempt)
                await workflow.sleep(delay)
                attempt += 1

    # ------------------------------------------------------------------ records

    def _reuse(self, block: Any, scope: Scope) -> bool:
        """Retry from the failed step: an action, delay or wait that completed in the earlier
        instance is not run again; its recorded output stands (steps inside for_each run again)."""
        earlier = self.run_input.resume.get(block.id)
        if (earlier is None or earlier.status != "completed" or scope.iteration is not None
                or not isinstance(block, (ActionBlock, DelayBlock)) or not workflow.patched("resume-v1")):
            return False
        record = earlier.model_copy(update={"reused": True})
        self.state.steps.pop(block.id, None)
        self.state.steps[block.id] = record
        scope.record(block.id, "completed", record.output)
        return True

    def _step_key(self, block_id: str, scope: Scope) -> str:
        """The step's part of its idempotency key: `id`, `id[i]` in a for_each, and in nested
        for_each loops every index, `id[i][j]` (before nested-loop-keys-v1 only the innermost,
        so iterations of the outer loop shared keys and a receiver could drop them as repeats)."""
        if scope.iteration is None:
            return block_id
        indices = scope.loop_indices()
        if len(indices) > 1 and workflow.patched("nested-loop-keys-v1"):
            return block_id + "".join(f"[{index}]" for index in indices)
        return f"{block_id}[{scope.iteration}]"

    def _start(self, block: Any, scope: Scope) -> StepRecord:
        earlier = self.state.steps.get(block.id)
        if (self.top_loop is not None and self.top_loop[1] > 0 and scope.parent is None
                and earlier is not None and earlier.status == "running"):
            self.state.current_step = block.id
            return earlier  # a for_each resumed after continue-as-new keeps its record
        record = StepRecord(
            id=block.id, type=block.type, name=block.name, started_at=workflow.now(), iteration=scope.iteration
        )
        self.state.steps.pop(block.id, None)  # re-insert so the order is the order of last start
        self.state.steps[block.id] = record
        self.state.current_step = block.id
        return record

    def _end(self, record: StepRecord, scope: Scope, status: str, *, output: Any = None,
             error: str | None = None, error_type: str | None = None) -> None:
        record.status = status  # type: ignore[assignment]
        record.ended_at = workflow.now()
        if output is not None:
            record.output = output
        record.error, record.error_type = error, error_type
        scope.record(record.id, status, record.output)

    def _render(self, value: Any, record: StepRecord, scope: Scope) -> Any:
        rendered = expressions.render(value, scope.context())
        record.missing.extend(rendered.missing)
        return rendered.value
