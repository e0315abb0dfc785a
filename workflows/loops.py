"""for_each (SPEC §4): iterations in lanes of `max_concurrency`; a top-level loop may continue as new."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import expressions
    from workflows.context import Scope
    from workflows.definition import ForEachBlock
    from workflows.models import Continuation, StepRecord
    from workflows.records import StepRecords
    from workflows.runtime import Block, RunContext

MAX_LOOP_RESULTS = 100

Walk = Callable[[list[Block], Scope], Awaitable[None]]


class ForEachLoop:
    def __init__(self, run: RunContext, records: StepRecords, walk: Walk) -> None:
        self.run, self.records, self.walk = run, records, walk

    async def walk_loop(self, block: ForEachBlock, record: StepRecord, scope: Scope) -> Any:
        run = self.run
        items = self.records.render(block.inputs.items, record, scope)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise expressions.ExpressionError(f"for_each items must be a list, got {type(items).__name__}")
        # Only a top-level loop can continue as new; it resumes at the first iteration not started.
        top = run.top_loop if scope.parent is None else None
        next_index, kept = (top.next_index, top.results) if top else (0, [])
        results: list[Any] = kept + [None] * (min(len(items), MAX_LOOP_RESULTS) - len(kept))
        last_id = block.branches.do[-1].id if block.branches.do else None
        paused = False

        async def lane() -> None:
            nonlocal next_index, paused
            while next_index < len(items) and not paused:
                if top and run.continue_due():
                    paused = True
                    return
                index = next_index
                next_index += 1
                run.iterations += 1
                inner = scope.child(item=items[index], index=index)
                await self.walk(block.branches.do, inner)
                if last_id is not None and index < MAX_LOOP_RESULTS:
                    results[index] = inner.local.get(last_id, {}).get("output")

        await asyncio.gather(*(lane() for _ in range(min(block.inputs.max_concurrency, len(items)) or 0)))
        if paused and top:
            run.continue_as_new(scope, Continuation(block_index=top.block_index, state=run.state,
                                                    loop_next=next_index, loop_results=results))
        output: dict[str, Any] = {"count": len(items), "results": results}
        if len(items) > MAX_LOOP_RESULTS:
            output["results_truncated"] = True  # step outputs stay small: the first 100 results are kept
        return output
