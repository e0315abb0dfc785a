"""What the interpreter's parts share during one run: typed, in one place (deterministic, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
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
    from workflows.models import Continuation, RunInput, RunState

Block = (ActionBlock | IfElseBlock | DelayBlock | WaitForEventBlock | ParallelBlock | ForEachBlock | StopBlock
         | CallWorkflowBlock | ApprovalBlock)


@dataclass
class TopLoop:
    """A top-level for_each's progress, so that it can continue as new between iterations."""

    block_index: int  # its index among the top-level blocks
    next_index: int = 0  # the first iteration not started (after continue-as-new: not started before)
    results: list[Any] = field(default_factory=list)  # the results kept so far

    @property
    def resumed(self) -> bool:
        return self.next_index > 0


@dataclass
class RunContext:
    """The run's input and state, and the counters continue-as-new decides on."""

    input: RunInput
    state: RunState
    instance_id: str
    nonce: str = ""  # makes the run's secret placeholders; set when the run starts
    iterations: int = 0  # for_each iterations in this run (continue-as-new counts them)
    top_loop: TopLoop | None = None  # the top-level for_each being walked, if any

    def continue_due(self) -> bool:
        every = self.input.continue_every
        due = (self.iterations >= every) if every else workflow.info().is_continue_as_new_suggested()
        return due and workflow.patched("continue-as-new-v1")

    def continue_as_new(self, scope: Scope, continuation: Continuation) -> None:
        continuation.outputs = dict(scope.local)
        workflow.logger.info("continuing as new at block %s", continuation.block_index)
        workflow.continue_as_new(self.input.model_copy(update={"continuation": continuation}))
