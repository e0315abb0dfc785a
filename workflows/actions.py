"""Running an action step: as a local activity or a regular one, and reading its failure."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    RetryState,
    is_cancelled_exception,
)
from temporalio.exceptions import (
    TimeoutError as ActivityTimeout,
)

with workflow.unsafe.imports_passed_through():
    from activities.models import ActionInput, ActionResult
    from relay_common.approvals import as_template as approval_template
    from relay_common.failures import Failure
    from relay_common.placeholders import as_template
    from relay_common.walk import map_leaves
    from workflows import expressions
    from workflows.context import Scope
    from workflows.definition import ActionBlock, RetrySpec
    from workflows.durations import parse_duration
    from workflows.models import StepRecord
    from workflows.records import USER_ERRORS, StepRecords, user_error
    from workflows.runtime import RunContext

# A step whose timeout is at most this runs as a local activity: in the worker, inside the workflow
# task, recorded as a marker (one server round trip instead of three). A query or cancel that
# arrives meanwhile waits for the step, so only short, bounded steps qualify; see docs/decisions.md.
# Changing this value changes commands for new steps: it needs a new patch id.
LOCAL_STEP_MAX = timedelta(seconds=5)


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


class LocalStepFailed(Exception):
    """A local step's last attempt failed: why, and how many attempts were made."""

    def __init__(self, cause: BaseException, attempt: int) -> None:
        super().__init__(str(cause))
        self.cause, self.attempt = cause, attempt


@dataclass
class StepFailure:
    """What a step's record says of its failure."""

    message: str
    kind: str
    attempts: int


def read_failure(failure: ActivityError | LocalStepFailed, retry: RetrySpec) -> StepFailure:
    cause = failure.cause
    attempt = failure.attempt if isinstance(failure, LocalStepFailed) else None
    message = getattr(cause, "message", None) or str(cause or failure)
    if attempt is None:
        details = getattr(cause, "details", None) or ()
        attempt = details[0].get("attempt") if details and isinstance(details[0], dict) else None
    if attempt is None:
        assert isinstance(failure, ActivityError)
        attempt = retry.max_attempts if failure.retry_state == RetryState.MAXIMUM_ATTEMPTS_REACHED else 1
    kind = getattr(cause, "type", None)
    kind = kind if isinstance(kind, str) else type(cause).__name__  # a TimeoutError's type is an enum
    return StepFailure(message=message, kind=kind, attempts=attempt)


class ActionSteps:
    def __init__(self, run: RunContext, records: StepRecords) -> None:
        self.run, self.records = run, records

    async def run_step(self, block: ActionBlock, scope: Scope) -> None:
        records = self.records
        record = records.start(block, scope)
        retry = block.retry
        try:  # a bad or templated duration is refused by validation, but a version stored earlier may have one
            rendered = expressions.render(block.input, scope.context(), secret_nonce=self.run.nonce)
            timeout = parse_duration(block.timeout)
            for interval in (retry.initial_interval, retry.max_interval):
                parse_duration(interval)
        except USER_ERRORS as error:
            records.end(record, scope, "failed", error=str(error), error_type=Failure.USER_ERROR)
            raise user_error(block.id, error) from None
        record.missing = rendered.missing
        if self.run.input.dry_run:
            record.attempts = 1
            nonce = self.run.nonce  # what the person wrote, never a run's internal marker
            would_send = map_leaves(rendered.value, lambda leaf: approval_template(as_template(leaf, nonce), nonce)
                                    if isinstance(leaf, str) else leaf)
            output = self.run.input.mocks.get(block.id, {"dry_run": True, "would_send": would_send})
            records.end(record, scope, "completed", output=output)
            return
        action = ActionInput(
            tenant_id=self.run.input.tenant_id,
            instance_id=self.run.instance_id,
            step_id=records.step_key(block.id, scope),
            input=rendered.value,
            secret_nonce=self.run.nonce,
            depth=self.run.input.depth,
            key_instance_id=self.run.input.retry_root or "",
        )
        try:
            result = await self._execute(block, action, timeout)
        except asyncio.CancelledError:
            records.end(record, scope, "cancelled")
            raise
        except (ActivityError, LocalStepFailed) as failure:
            self._failed(block, record, scope, failure)
            return
        record.attempts = result.attempt
        records.end(record, scope, "completed", output=result.output)

    def _failed(self, block: ActionBlock, record: StepRecord, scope: Scope,
                failure: ActivityError | LocalStepFailed) -> None:
        cause = failure.cause
        if is_cancelled_exception(failure if cause is None else cause) and workflow.patched("cancel-during-action-v1"):
            # the run was cancelled while this step ran (TRY_CANCEL reports it as an activity
            # error): the step is cancelled and nothing after it runs, on_error notwithstanding
            self.records.end(record, scope, "cancelled")
            raise asyncio.CancelledError() from None
        failed = read_failure(failure, block.retry)
        record.attempts = failed.attempts
        self.records.end(record, scope, "failed", error=failed.message, error_type=failed.kind)
        if block.on_error == "continue":
            return
        raise ApplicationError(f"step {block.id} failed: {failed.message}", type=Failure.STEP_FAILED,
                               non_retryable=True) from None

    async def _execute(self, block: ActionBlock, action: ActionInput, timeout: timedelta) -> ActionResult:
        """The step's activity, local when short enough, with the step's retry policy."""
        retry = block.retry
        if timeout <= LOCAL_STEP_MAX and workflow.patched("local-steps-v1"):
            return await self._local_step(block, action, timeout)
        return await workflow.execute_activity(
            block.type, action, result_type=ActionResult, start_to_close_timeout=timeout,
            summary=block.name or block.id,  # what the Temporal UI shows for the step's activity
            retry_policy=RetryPolicy(
                initial_interval=parse_duration(retry.initial_interval),
                backoff_coefficient=retry.backoff,
                maximum_interval=parse_duration(retry.max_interval),
                maximum_attempts=retry.max_attempts,
            ),
        )

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
                    summary=block.name or block.id,
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
                    raise LocalStepFailed(cause or error, attempt) from None
                delay = cause.next_retry_delay if isinstance(cause, ApplicationError) else None
                if delay is None:
                    delay = retry_backoff(retry, attempt)
                await workflow.sleep(delay)
                attempt += 1
