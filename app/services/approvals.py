"""Approval decisions (SPEC §2.4; docs/approvals.md): by the API and by the signed link.

A decision is the `approval` update of the run's RelayWorkflow, which answers whether it was the
first: the workflow handles updates one at a time, so of two racing decisions exactly one wins
and the other is answered 410 `gone` (so is any decision after the block timed out). A link's
token is checked (HMAC, constant time) before anything is looked up; an invalid one is 404.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from app import temporal
from app.config import Settings
from app.crypto import approval_key
from app.services import runs
from app.services.errors import Conflict, Gone, NotFound, temporal_error
from relay_common.approvals import Link, verify
from workflows.models import Approval, ApprovalDecision


def link_of(settings: Settings, token: str) -> Link:
    link = verify(approval_key(settings), token)
    if link is None:
        raise NotFound("approval", "this approval link is not valid")
    return link


async def decide(client: Any, *, tenant_id: str, instance_id: str, block_id: str, decision: str,
                 by: str | None, comment: str | None, gone_when_ended: bool = False) -> dict[str, Any]:
    """Record the first decision of an approval block; Conflict when the run has ended (Gone for
    a link: to its holder an ended run is an expired link), Gone when the block was decided."""
    handle, description = await runs.describe(client, tenant_id, instance_id)
    if description.status != Status.RUNNING:
        raise _ended(gone_when_ended)
    try:
        answer = await temporal.decide_approval(handle, ApprovalDecision(
            block_id=block_id, decision=decision, by=by, comment=comment))  # type: ignore[arg-type]
    except WorkflowUpdateFailedError:
        raise _ended(gone_when_ended) from None
    except RPCError as error:
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise _ended(gone_when_ended) from None
        raise temporal_error(error) from None
    if answer.reason == "unknown_block":
        raise NotFound("approval", f"the run has no approval block {block_id!r}")
    if not answer.accepted:
        raise Gone(_why_gone(answer.approval))
    assert answer.approval is not None
    return {"instance_id": instance_id, "block_id": block_id, **view(answer.approval)}


def _ended(gone: bool) -> Exception:
    if gone:
        return Gone("the run this approval belongs to has ended")
    return Conflict("instance_not_running", "the instance has already ended")


def _why_gone(approval: Approval | None) -> str:
    if approval is not None and approval.decision == "timeout":
        return "this approval timed out"
    return "this approval was already decided"


def view(approval: Approval) -> dict[str, Any]:
    return {"decision": approval.decision, "by": approval.by, "comment": approval.comment,
            "decided_at": approval.decided_at}


async def pending(client: Any, link: Link) -> tuple[str | None, str]:
    """(the block's rendered message, None before the run reaches it; the workflow's id) of an
    undecided approval; Gone when decided, timed out or the run has ended."""
    handle, description = await runs.describe(client, link.tenant_id, link.instance_id)
    if description.status != Status.RUNNING:
        raise Gone("the run this approval belongs to has ended")
    try:
        state = await temporal.run_state(handle)
    except RPCError as error:
        raise temporal_error(error) from None
    approval = state.approvals.get(link.block_id)
    if approval is not None and approval.decision is not None:
        raise Gone(_why_gone(approval))
    workflow_id = description.typed_search_attributes.get(temporal.SA_WORKFLOW_ID) or ""
    return (approval.message if approval else None), workflow_id
