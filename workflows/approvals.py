"""An approval block (SPEC §2.4; docs/approvals.md): wait for a human's decision.

Decisions arrive as the `approval` update (RelayWorkflow.on_approval → `decide` here), from the
public page or the API; the first one for a block is kept (also one that comes before the run
reaches the block, e.g. from an email sent earlier), and every later one, and every one after
the timeout, is answered "decided". Workflow code handles updates one at a time, so "first" is
exact. The links themselves are placeholders here (relay_common/approvals.py); only the
activity that sends a step turns them into signed URLs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from relay_common.approvals import DECISIONS, placeholder
    from workflows.context import Scope
    from workflows.definition import ApprovalBlock, Definition, child_lists
    from workflows.durations import parse_duration
    from workflows.models import Approval, ApprovalAnswer, ApprovalDecision, RunState, StepRecord
    from workflows.records import StepRecords
    from workflows.runtime import Block, RunContext


def approval_ids(blocks: list[Any]) -> list[str]:
    """The ids of every approval block of a definition's blocks, at any depth."""
    found: list[str] = []
    for block in blocks:
        if isinstance(block, ApprovalBlock):
            found.append(block.id)
        for _, children in child_lists(block):
            found += approval_ids(children)
    return found


def link_context(definition: Definition, nonce: str) -> dict[str, Any]:
    """`approvals.<id>.approve_url` / `reject_url` for the template context: placeholders."""
    return {block_id: {f"{verb}_url": placeholder(nonce, block_id, decision)
                       for verb, decision in zip(("approve", "reject"), DECISIONS, strict=True)}
            for block_id in approval_ids(definition.workflow_blocks)}


def decide(state: RunState, definition: Definition, decision: ApprovalDecision) -> ApprovalAnswer:
    """The `approval` update: the first decision for a block wins."""
    if decision.block_id not in approval_ids(definition.workflow_blocks):
        return ApprovalAnswer(accepted=False, reason="unknown_block")
    approval = state.approvals.setdefault(decision.block_id, Approval())
    if approval.decision is not None:
        return ApprovalAnswer(accepted=False, reason="decided", approval=approval)
    approval.decision, approval.by, approval.comment = decision.decision, decision.by, decision.comment
    approval.decided_at = workflow.now()
    return ApprovalAnswer(accepted=True, approval=approval)


def output_of(approval: Approval) -> dict[str, Any]:
    decided_at = approval.decided_at.isoformat() if approval.decided_at else None
    return {"decision": approval.decision, "by": approval.by, "comment": approval.comment, "decided_at": decided_at}


class ApprovalWaits:
    def __init__(self, run: RunContext, records: StepRecords,
                 walk: Callable[[list[Block], Scope], Awaitable[None]]) -> None:
        self.run, self.records, self.walk = run, records, walk

    async def wait(self, block: ApprovalBlock, record: StepRecord, scope: Scope) -> Any:
        approval = self.run.state.approvals.setdefault(block.id, Approval())
        approval.message = str(self.records.render(block.inputs.message, record, scope) or "")
        timeout = parse_duration(block.inputs.timeout).total_seconds() if block.inputs.timeout else None
        if self.run.input.dry_run and approval.decision is None:  # a mock is the decision; without one: timeout
            mock = self.run.input.mocks.get(block.id)
            decision = mock.get("decision") if isinstance(mock, dict) else None
            approval.decision = decision if decision in DECISIONS else "timeout"
            approval.decided_at = workflow.now()
        record.status = "waiting"
        try:
            await workflow.wait_condition(lambda: approval.decision is not None, timeout=timeout)
        except TimeoutError:
            if approval.decision is None:
                approval.decision, approval.decided_at = "timeout", workflow.now()
        record.status = "running"
        assert approval.decision is not None
        record.branch = approval.decision
        output = output_of(approval)
        record.output = output
        scope.record(block.id, "running", output)  # the branch may use {{<id>.output.by}}
        branches = block.branches
        chosen = {"approved": branches.approved, "rejected": branches.rejected, "timeout": branches.timeout}
        await self.walk(chosen[approval.decision], scope)
        return output
