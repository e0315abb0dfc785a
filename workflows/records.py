"""Step records (SPEC §4): starting, ending and reusing them, and each step's idempotency key part."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from relay_common.failures import Failure
    from workflows import expressions
    from workflows.context import Scope
    from workflows.definition import ActionBlock, CallWorkflowBlock, DelayBlock
    from workflows.durations import DurationError
    from workflows.models import StepRecord, StepStatus
    from workflows.runtime import Block, RunContext

# A user's mistake in a definition: the step fails and so does the run, without retries.
USER_ERRORS = (expressions.ExpressionError, expressions.TemplateSyntaxError, DurationError)


def user_error(block_id: str, error: Exception) -> ApplicationError:
    return ApplicationError(f"step {block_id}: {error}", type=Failure.USER_ERROR, non_retryable=True)


class StepRecords:
    def __init__(self, run: RunContext) -> None:
        self.run = run

    def reuse(self, block: Block, scope: Scope) -> bool:
        """Retry from the failed step: an action, delay, wait or call_workflow that completed in the
        earlier instance is not run again; its recorded output stands (steps inside for_each run
        again). A completed call is reused since resume-calls-v1 (before, a retry started the
        child again, with its side effects)."""
        earlier = self.run.input.resume.get(block.id)
        if earlier is None or earlier.status != "completed" or scope.iteration is not None:
            return False
        reusable = isinstance(block, (ActionBlock, DelayBlock)) or (
            isinstance(block, CallWorkflowBlock) and workflow.patched("resume-calls-v1"))
        if not reusable or not workflow.patched("resume-v1"):
            return False
        record = earlier.model_copy(update={"reused": True})
        steps = self.run.state.steps
        steps.pop(block.id, None)
        steps[block.id] = record
        scope.record(block.id, "completed", record.output)
        return True

    def step_key(self, block_id: str, scope: Scope) -> str:
        """The step's part of its idempotency key: `id`, `id[i]` in a for_each, and in nested
        for_each loops every index, `id[i][j]` (before nested-loop-keys-v1 only the innermost,
        so iterations of the outer loop shared keys and a receiver could drop them as repeats)."""
        if scope.iteration is None:
            return block_id
        indices = scope.loop_indices()
        if len(indices) > 1 and workflow.patched("nested-loop-keys-v1"):
            return block_id + "".join(f"[{index}]" for index in indices)
        return f"{block_id}[{scope.iteration}]"

    def start(self, block: Block, scope: Scope) -> StepRecord:
        state, top = self.run.state, self.run.top_loop
        earlier = state.steps.get(block.id)
        if (top is not None and top.resumed and scope.parent is None
                and earlier is not None and earlier.status == "running"):
            state.current_step = block.id
            return earlier  # a for_each resumed after continue-as-new keeps its record
        record = StepRecord(
            id=block.id, type=block.type, name=block.name, started_at=workflow.now(), iteration=scope.iteration
        )
        state.steps.pop(block.id, None)  # re-insert so the order is the order of last start
        state.steps[block.id] = record
        state.current_step = block.id
        return record

    def end(self, record: StepRecord, scope: Scope, status: StepStatus, *, output: Any = None,
            error: str | None = None, error_type: str | None = None) -> None:
        record.status = status
        record.ended_at = workflow.now()
        if output is not None:
            record.output = output
        record.error, record.error_type = error, error_type
        scope.record(record.id, status, record.output)

    def render(self, value: Any, record: StepRecord, scope: Scope) -> Any:
        """`value` with its templates filled in; the paths that were missing go to the record."""
        rendered = expressions.render(value, scope.context())
        record.missing.extend(rendered.missing)
        return rendered.value
