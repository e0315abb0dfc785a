"""The block model: the canonical workflow definition of SPEC §2 (pydantic, no I/O).

Graph validation (references, limits, addresses) lives in workflows/validation.py.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Discriminator, Field, Tag

from workflows.action_inputs import ACTION_INPUT_MODELS as ACTION_INPUT_MODELS  # re-exported
from workflows.action_inputs import Model
from workflows.flow import FlowControl

ACTION_TYPES = ("send_email", "webhook", "send_channel_message", "create_task", "update_field")
BLOCK_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def has_control_characters(text: str) -> bool:
    return any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text)


def _no_control_characters(text: str) -> str:
    if has_control_characters(text):
        raise ValueError("control characters (NUL, CR, LF, …) are not allowed in a name")
    return text


# Names (of workflows, blocks, connections, keys) are shown in lists, logs and emails: one line.
Name = Annotated[str, AfterValidator(_no_control_characters)]

# ---------------------------------------------------------------------- blocks


class RetrySpec(Model):
    max_attempts: int = Field(default=3, ge=1, le=100)
    initial_interval: str = "1s"
    backoff: float = Field(default=2.0, ge=1.0, le=10.0)
    max_interval: str = "1m"


BlockId = Annotated[str, Field(pattern=BLOCK_ID_PATTERN, max_length=64)]


class ActionBlock(Model):
    kind: Literal["Action"] = Field(alias="$kind")
    id: BlockId
    name: Name | None = None
    type: Literal["send_email", "webhook", "send_channel_message", "create_task", "update_field"]
    input: dict[str, Any] = Field(default_factory=dict)
    retry: RetrySpec = Field(default_factory=RetrySpec)
    timeout: str = "30s"
    on_error: Literal["fail", "continue"] = "fail"


class _Block(Model):
    kind: Literal["Block"] = Field(alias="$kind")
    id: BlockId
    name: Name | None = None


class IfElseInputs(Model):
    condition: dict[str, Any]


class IfElseBranches(Model):
    then: list[AnyBlock] = Field(default_factory=list)
    else_: list[AnyBlock] = Field(default_factory=list, alias="else")


class IfElseBlock(_Block):
    type: Literal["if-else"]
    inputs: IfElseInputs
    branches: IfElseBranches = Field(default_factory=IfElseBranches)


class DelayInputs(Model):
    duration: str | int | float | None = None
    until: str | None = None


class DelayBlock(_Block):
    type: Literal["delay"]
    inputs: DelayInputs


class WaitInputs(Model):
    event: str = Field(min_length=1, max_length=200)
    timeout: str | None = None


class WaitBranches(Model):
    received: list[AnyBlock] = Field(default_factory=list)
    timeout: list[AnyBlock] = Field(default_factory=list)


class WaitForEventBlock(_Block):
    type: Literal["wait_for_event"]
    inputs: WaitInputs
    branches: WaitBranches = Field(default_factory=WaitBranches)


class ParallelBlock(_Block):
    type: Literal["parallel"]
    branches: dict[str, list[AnyBlock]]


class ForEachInputs(Model):
    items: Any
    max_concurrency: int = Field(default=1, ge=1, le=100)


class ForEachBranches(Model):
    do: list[AnyBlock] = Field(default_factory=list)


class ForEachBlock(_Block):
    type: Literal["for_each"]
    inputs: ForEachInputs
    branches: ForEachBranches = Field(default_factory=ForEachBranches)


class StopInputs(Model):
    status: Literal["completed", "failed"] = "completed"
    reason: str = ""


class StopBlock(_Block):
    type: Literal["stop"]
    inputs: StopInputs = Field(default_factory=StopInputs)


class CallInputs(Model):
    workflow_id: str = Field(min_length=1, max_length=40)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    data: dict[str, Any] | str = Field(default_factory=dict)  # a string: one token giving an object
    wait: bool = Field(default=True, strict=True)


class CallWorkflowBlock(_Block):
    """A child run of another workflow of the tenant (SPEC §2.4; workflows/calls.py)."""

    type: Literal["call_workflow"]
    inputs: CallInputs
    on_error: Literal["fail", "continue"] = "fail"


class ApprovalInputs(Model):
    timeout: str | None = None
    message: str = Field(default="", max_length=10_000)


class ApprovalBranches(Model):
    approved: list[AnyBlock] = Field(default_factory=list)
    rejected: list[AnyBlock] = Field(default_factory=list)
    timeout: list[AnyBlock] = Field(default_factory=list)


class ApprovalBlock(_Block):
    """A human's decision by link or API (SPEC §2.4; workflows/approvals.py)."""

    type: Literal["approval"]
    inputs: ApprovalInputs = Field(default_factory=ApprovalInputs)
    branches: ApprovalBranches = Field(default_factory=ApprovalBranches)


def _block_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("$kind", value.get("kind"))
        return "Action" if kind == "Action" else value.get("type") if kind == "Block" else None
    if isinstance(value, ActionBlock):
        return "Action"
    return getattr(value, "type", None)


AnyBlock = Annotated[
    (
        Annotated[ActionBlock, Tag("Action")]
        | Annotated[IfElseBlock, Tag("if-else")]
        | Annotated[DelayBlock, Tag("delay")]
        | Annotated[WaitForEventBlock, Tag("wait_for_event")]
        | Annotated[ParallelBlock, Tag("parallel")]
        | Annotated[ForEachBlock, Tag("for_each")]
        | Annotated[StopBlock, Tag("stop")]
        | Annotated[CallWorkflowBlock, Tag("call_workflow")]
        | Annotated[ApprovalBlock, Tag("approval")]
    ),
    Discriminator(
        _block_tag,
        custom_error_type="unknown_block",
        custom_error_message="unknown $kind/type (Action, or Block of type if-else, delay, "
        "wait_for_event, parallel, for_each, stop, call_workflow, approval)",
    ),
]

for _model in (IfElseBranches, WaitBranches, ParallelBlock, ForEachBranches, ApprovalBranches):
    _model.model_rebuild()


def child_lists(block: Any) -> list[tuple[str, list[Any]]]:
    """The nested block lists of a block, as (path suffix, blocks)."""
    if isinstance(block, IfElseBlock):
        return [("branches.then", block.branches.then), ("branches.else", block.branches.else_)]
    if isinstance(block, WaitForEventBlock):
        return [("branches.received", block.branches.received), ("branches.timeout", block.branches.timeout)]
    if isinstance(block, ParallelBlock):
        return [(f"branches.{name}", blocks) for name, blocks in block.branches.items()]
    if isinstance(block, ForEachBlock):
        return [("branches.do", block.branches.do)]
    if isinstance(block, ApprovalBlock):
        branches = block.branches
        return [("branches.approved", branches.approved), ("branches.rejected", branches.rejected),
                ("branches.timeout", branches.timeout)]
    return []


# --------------------------------------------------------------------- triggers


class ManualConfig(Model):
    pass


class WebhookConfig(Model):
    secret: str | None = None


class ScheduleConfig(Model):
    cron: str | None = None
    interval: str | None = None
    timezone: str = "UTC"
    overlap: Literal["skip", "buffer_one", "allow_all"] = "skip"


class EventConfig(Model):
    # no whitespace: no posted event type has any (app/routers/events.py), so such a pattern never fires
    event: str = Field(min_length=1, max_length=200, pattern=r"^\S+$")
    conditions: list[dict[str, Any]] = Field(default_factory=list)


class ThresholdConfig(Model):
    metric: str = Field(min_length=1, max_length=200)
    operator: Literal[
        "greater_than", "less_than", "greater_or_equal", "less_or_equal", "equals", "not_equals"
    ] = "greater_than"
    value: float
    time_window: str = "5m"
    aggregate: Literal["avg", "min", "max", "sum", "count"] = "avg"


TRIGGER_CONFIG_MODELS: dict[str, type[Model]] = {
    "manual": ManualConfig,
    "webhook": WebhookConfig,
    "schedule": ScheduleConfig,
    "event": EventConfig,
    "threshold": ThresholdConfig,
}


class Definition(Model):
    """What a version holds and what a run executes (the snapshot in its input)."""

    model_config = ConfigDict(extra="ignore", validate_by_name=True, serialize_by_alias=True)

    name: Name = Field(min_length=1, max_length=120)
    description: str | None = None
    trigger_type: Literal["manual", "webhook", "schedule", "event", "threshold"] = "manual"
    trigger_configuration: dict[str, Any] = Field(default_factory=dict)
    trigger_constraints: dict[str, Any] | None = None
    workflow_blocks: list[AnyBlock] = Field(default_factory=list)
    flow_control: FlowControl | None = None  # SPEC §2.7 (workflows/flow.py)
