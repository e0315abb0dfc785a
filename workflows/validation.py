"""Validation of a definition (SPEC §2.6): every problem with the path where it is.

Pure code: no I/O. Address checks look only at literal hosts and local names (no DNS), with
the policy of `activities.addresses`; the activities check again on the address they actually
connect to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from workflows import jsonlogic
from workflows.approvals import approval_ids
from workflows.composition_checks import composition_problems
from workflows.conditions import validate_condition
from workflows.context import RESERVED_ROOTS
from workflows.definition import (
    ACTION_INPUT_MODELS,
    TRIGGER_CONFIG_MODELS,
    ActionBlock,
    ApprovalBlock,
    CallWorkflowBlock,
    Definition,
    DelayBlock,
    EventConfig,
    ForEachBlock,
    IfElseBlock,
    ScheduleConfig,
    ThresholdConfig,
    WaitForEventBlock,
    child_lists,
)
from workflows.durations import DurationError, parse_duration
from workflows.expressions import TemplateSyntaxError, template_tokens
from workflows.flow import check_flow_control
from workflows.header_checks import has_crlf, not_addresses
from workflows.problems import Problem, pydantic_problems, shorten

MAX_BLOCKS = 500
MAX_DEPTH = 32
MAX_DEFINITION_BYTES = 256 * 1024
# Roots a template may start with besides step ids (SPEC §2.5). Top-level keys of
# trigger.data are roots too, so an unknown root is only an error when it is used
# like a step (`x.output…`, `x.status`).


class DefinitionInvalid(ValueError):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


@dataclass
class ValidationOptions:
    """What the server knows that the definition does not: its outbound address policy."""

    # The outbound address policy (activities.outbound.url_refusal, bound by the API to its
    # settings): why a literal URL is refused. Injected so that workflow code does no I/O imports.
    url_refusal: Callable[[str], list[str]] | None = None
    # The ids of the tenant's workflows a call_workflow may name (looked up by the API before it
    # validates); None: not checked (a dry run's definition).
    known_workflows: frozenset[str] | None = None


def parse_definition(raw: dict[str, Any], options: ValidationOptions | None = None) -> Definition:
    """Parse and fully validate; raise DefinitionInvalid listing every problem."""
    options = options or ValidationOptions()
    size = len(json.dumps(raw, separators=(",", ":"), default=str).encode())
    if size > MAX_DEFINITION_BYTES:
        raise DefinitionInvalid([Problem("$", f"definition is {size} bytes; the limit is {MAX_DEFINITION_BYTES}")])
    try:
        definition = Definition.model_validate(raw)
    except ValidationError as error:
        raise DefinitionInvalid(pydantic_problems(error)) from None
    problems = list(_check_trigger(definition))
    walker = _Walker(definition, options)
    problems += walker.run()
    problems += check_flow_control(definition.flow_control, walker.all_ids)
    if problems:
        raise DefinitionInvalid(problems)
    return definition


def _check_trigger(definition: Definition) -> Iterable[Problem]:
    model = TRIGGER_CONFIG_MODELS[definition.trigger_type]
    try:
        config = model.model_validate(definition.trigger_configuration)
    except ValidationError as error:
        yield from pydantic_problems(error, "trigger_configuration")
        return
    if isinstance(config, ScheduleConfig):
        yield from _check_schedule(config)
    elif isinstance(config, EventConfig):
        for i, condition in enumerate(config.conditions):
            yield from validate_condition(condition, f"trigger_configuration.conditions.{i}", form="field")
    elif isinstance(config, ThresholdConfig):
        yield from _check_duration(config.time_window, "trigger_configuration.time_window")
    if definition.trigger_constraints is not None:
        yield from jsonlogic.validate(definition.trigger_constraints, "trigger_constraints")


def _check_schedule(config: Any) -> Iterable[Problem]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from croniter import croniter

    if bool(config.cron) == bool(config.interval):
        yield Problem("trigger_configuration", "give exactly one of cron or interval; "
                      f"got cron {shorten(config.cron)}, interval {shorten(config.interval)}")
    if config.cron and not croniter.is_valid(config.cron):
        yield Problem("trigger_configuration.cron", f"not a valid cron expression: {config.cron!r}")
    if config.interval:
        yield from _check_duration(config.interval, "trigger_configuration.interval", positive=True)
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        yield Problem("trigger_configuration.timezone", f"unknown timezone: {config.timezone!r}")


def _check_duration(value: Any, path: str, *, positive: bool = False, templated: bool = False) -> Iterable[Problem]:
    """A duration as the run will read it. Only a delay's `duration` is rendered before it is
    parsed (`templated`); anywhere else `{{…}}` is a mistake the run would only meet later."""
    if templated and isinstance(value, str) and "{{" in value:
        return
    try:
        parsed = parse_duration(value)
    except DurationError as error:
        yield Problem(path, str(error))
        return
    if positive and parsed.total_seconds() <= 0:
        yield Problem(path, f"must be greater than zero; got {shorten(value)}")


def _branch_scope(block: Any, suffix: str, available: set[str]) -> set[str]:
    """The step ids a branch may use: a wait_for_event's `received` branch runs once its payload is
    the block's output (the interpreter records it first), so `{{<wait id>.output.…}}` works there."""
    if isinstance(block, WaitForEventBlock) and suffix == "branches.received":
        return available | {block.id}
    if isinstance(block, ApprovalBlock):  # the decision is the block's output before a branch runs
        return available | {block.id}
    return available


class _Walker:
    """Walks the block tree once, checking ids, limits, inputs and references."""

    def __init__(self, definition: Definition, options: ValidationOptions):
        self.definition = definition
        self.options = options
        self.problems: list[Problem] = []
        self.seen: dict[str, str] = {}
        self.count = 0
        self.all_ids: set[str] = set()
        self.approval_ids = set(approval_ids(definition.workflow_blocks))
        self._collect(definition.workflow_blocks)

    def _collect(self, blocks: list[Any]) -> None:
        for block in blocks:
            self.all_ids.add(block.id)
            for _, children in child_lists(block):
                self._collect(children)

    def run(self) -> list[Problem]:
        self._walk(self.definition.workflow_blocks, "workflow_blocks", set(), depth=1, loop=False)
        if self.count > MAX_BLOCKS:
            self.problems.append(Problem("workflow_blocks", f"{self.count} blocks; the limit is {MAX_BLOCKS}"))
        return self.problems

    def _walk(self, blocks: list[Any], path: str, available: set[str], *, depth: int, loop: bool) -> set[str]:
        """Check a block list; return the ids that may have run once the list ends."""
        if depth > MAX_DEPTH:
            self.problems.append(Problem(path, f"blocks nest deeper than {MAX_DEPTH}"))
            return available
        available = set(available)
        for i, block in enumerate(blocks):
            here = f"{path}.{i}"
            self.count += 1
            if block.id in self.seen:
                first = self.seen[block.id]
                self.problems.append(Problem(f"{here}.id", f"duplicate block id {block.id!r} (first at {first})"))
            else:
                self.seen[block.id] = here
            self._check_block(block, here, available, loop=loop)
            inner_loop = loop or isinstance(block, ForEachBlock)
            after = set(available)
            for suffix, children in child_lists(block):
                after |= self._walk(children, f"{here}.{suffix}", _branch_scope(block, suffix, available),
                                    depth=depth + 1, loop=inner_loop)
            available = after | {block.id}
        return available

    def _check_block(self, block: Any, here: str, available: set[str], *, loop: bool) -> None:
        if isinstance(block, ActionBlock):
            self._check_refs(block.input, f"{here}.input", available, loop=loop, secrets=True)
            self._check_action(block, here)
            return
        if isinstance(block, IfElseBlock):
            self.problems += validate_condition(block.inputs.condition, f"{here}.inputs.condition", form="comparison")
        elif isinstance(block, DelayBlock):
            inputs = block.inputs
            if (inputs.duration is None) == (inputs.until is None):
                self.problems.append(Problem(f"{here}.inputs", "give exactly one of duration or until; got "
                                             f"duration {shorten(inputs.duration)}, until {shorten(inputs.until)}"))
            elif inputs.duration is not None:
                self.problems += _check_duration(inputs.duration, f"{here}.inputs.duration", templated=True)
        elif isinstance(block, WaitForEventBlock) and block.inputs.timeout is not None:
            self.problems += _check_duration(block.inputs.timeout, f"{here}.inputs.timeout", positive=True)
        elif isinstance(block, (CallWorkflowBlock, ApprovalBlock)):
            self.problems += composition_problems(block, here, loop=loop, known=self.options.known_workflows)
        given = getattr(block, "inputs", None)
        if given is not None:
            self._check_refs(given.model_dump(by_alias=True), f"{here}.inputs", available, loop=loop, secrets=False)

    def _check_refs(self, value: Any, path: str, available: set[str], *, loop: bool, secrets: bool) -> None:
        try:
            tokens = template_tokens(value, path)
        except TemplateSyntaxError as error:
            self.problems.append(Problem(error.path, str(error)))
            return
        for location, token in tokens:
            root, _, rest = token.partition(".")
            if root == "secrets" and not secrets:
                message = f"{{{{secrets.…}}}} is allowed only in action inputs; got {{{{{token}}}}}"
                self.problems.append(Problem(location, message))
            elif root == "approvals" and not secrets:
                message = f"approval links render only in action inputs; got {{{{{token}}}}}"
                self.problems.append(Problem(location, message))
            elif root == "approvals" and not self._is_link(rest):
                self.problems.append(Problem(location, f"{{{{{token}}}}} is not an approval link; use "
                                             "{{approvals.<approval block id>.approve_url}} or .reject_url"))
            elif root in ("item", "index") and not loop:
                self.problems.append(Problem(location, f"{{{{{root}}}}} is only defined inside a for_each"))
            elif root in self.all_ids and root not in available:
                self.problems.append(Problem(location, f"step {root!r} cannot have run before this block"))
            elif root not in self.all_ids and root not in RESERVED_ROOTS and rest.split(".")[0] in ("output", "status"):
                self.problems.append(Problem(location, f"unknown step {root!r}"))

    def _is_link(self, rest: str) -> bool:
        parts = rest.split(".")
        return len(parts) == 2 and parts[0] in self.approval_ids and parts[1] in ("approve_url", "reject_url")

    def _check_action(self, block: ActionBlock, here: str) -> None:
        try:
            ACTION_INPUT_MODELS[block.type].model_validate(block.input)
        except ValidationError as error:
            self.problems += pydantic_problems(error, f"{here}.input")
        self.problems += _check_duration(block.timeout, f"{here}.timeout", positive=True)
        self.problems += _check_duration(block.retry.initial_interval, f"{here}.retry.initial_interval", positive=True)
        self.problems += _check_duration(block.retry.max_interval, f"{here}.retry.max_interval", positive=True)
        try:  # Temporal refuses a retry policy whose cap is below its first interval
            if parse_duration(block.retry.max_interval) < parse_duration(block.retry.initial_interval):
                self.problems.append(Problem(f"{here}.retry.max_interval",
                                             "must not be shorter than retry.initial_interval"))
        except DurationError:
            pass  # reported above
        data = block.input
        if block.type == "send_email":
            for key in ("subject", "to", "cc", "bcc", "from", "reply_to"):
                if has_crlf(data.get(key)):
                    self.problems.append(Problem(f"{here}.input.{key}",
                                                 f"CR or LF is not allowed here; got {shorten(data.get(key))}"))
                elif key != "subject":
                    self.problems += [Problem(f"{here}.input.{key}", f"{item!r} is not an email address")
                                      for item in not_addresses(data.get(key))]
        headers = data.get("headers")
        if isinstance(headers, dict):
            for name, value in headers.items():
                if has_crlf(value) or has_crlf(name):
                    self.problems.append(Problem(f"{here}.input.headers.{name}",
                                                 f"CR or LF is not allowed in a header; got {shorten(value)}"))
        for key in ("url", "webhook_url"):
            value = data.get(key)
            if isinstance(value, str):
                if key == "url" and data.get("connection") and not urlsplit(value).scheme:
                    continue  # relative to the http connection's base_url, checked when sent
                self._check_url(value, f"{here}.input.{key}")

    def _check_url(self, url: str, path: str) -> None:
        if "{{" in "/".join(url.split("/", 3)[:3]):
            return  # the host comes from data: the activity checks it at send time
        check = self.options.url_refusal
        for message in check(url) if check else ():
            self.problems.append(Problem(path, f"{message}; got {shorten(url)}"))
