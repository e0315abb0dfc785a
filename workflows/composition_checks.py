"""Validation of call_workflow and approval blocks (SPEC §2.4, §2.6); pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from workflows.definition import ApprovalBlock, CallWorkflowBlock
from workflows.durations import DurationError, parse_duration
from workflows.expressions import PATH
from workflows.problems import Problem, shorten


def composition_problems(block: CallWorkflowBlock | ApprovalBlock, here: str, *, loop: bool,
                         known: frozenset[str] | None) -> Iterable[Problem]:
    if isinstance(block, ApprovalBlock):
        if loop:  # one decision per block and run: an approval cannot repeat per iteration
            yield Problem(here, f"an approval block cannot be inside a for_each; got {block.id!r}")
        if block.inputs.timeout is not None:
            yield from _positive_duration(block.inputs.timeout, f"{here}.inputs.timeout")
        return
    inputs = block.inputs
    if known is not None and inputs.workflow_id not in known:
        yield Problem(f"{here}.inputs.workflow_id",
                      f"unknown workflow: no workflow of this tenant has the id {shorten(inputs.workflow_id)}")
    data = inputs.data
    if isinstance(data, str) and not _one_token(data):
        yield Problem(f"{here}.inputs.data",
                      f"must be an object, or one template token giving an object; got {shorten(data)}")


def _one_token(text: str) -> bool:
    text = text.strip()
    return text.startswith("{{") and text.endswith("}}") and bool(PATH.fullmatch(text[2:-2].strip()))


def _positive_duration(value: Any, path: str) -> Iterable[Problem]:
    try:
        seconds = parse_duration(value).total_seconds()
    except DurationError as error:
        yield Problem(path, str(error))
        return
    if seconds <= 0:
        yield Problem(path, f"must be greater than zero; got {shorten(value)}")
