"""Flow control (SPEC §2.7): the definition's `flow_control`, its validation, and the gates a run
passes before it runs (pure, no I/O).

A gate is one FlowGate coordinator workflow (workflows/flowgate.py) per (tenant, workflow, kind,
key); docs/flow-control.md describes the design.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import Priority, SearchAttributeKey

from workflows.durations import DurationError, parse_duration
from workflows.expressions import TemplateSyntaxError, render, template_tokens
from workflows.problems import Problem, shorten

# True while a run waits for admission; the run unsets it when admitted (status `queued`).
QUEUED_ATTRIBUTE = SearchAttributeKey.for_bool("RelayQueued")
GATE_WORKFLOW, COLLECTOR_WORKFLOW, COLLECT_UPDATE = "RelayFlowGate", "RelayFlowCollector", "flow_collect"
ENQUEUE_SIGNAL, RELEASE_SIGNAL, ADMIT_SIGNAL = "flow_enqueue", "flow_release", "flow_admit"
# Roots of the template context a key may not use: only the trigger, the entity alias and
# trigger.data's keys name a start (SPEC §2.7).
_NOT_KEY_ROOTS = ("workflow", "instance", "now", "secrets", "approvals", "item", "index", "metric")
MAX_KEY_CHARS = 1000


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ConcurrencyControl(_Part):
    limit: int = Field(ge=1, le=100_000)
    key: str | None = Field(default=None, max_length=500)


class ThrottleControl(_Part):
    limit: int = Field(ge=1, le=100_000)
    period: str | int | float
    key: str | None = Field(default=None, max_length=500)


class DebounceControl(_Part):
    period: str | int | float
    max_wait: str | int | float | None = None
    key: str | None = Field(default=None, max_length=500)


class BatchControl(_Part):
    max_size: int = Field(ge=1, le=1000)
    timeout: str | int | float
    key: str | None = Field(default=None, max_length=500)


class FlowControl(_Part):
    """The definition's `flow_control`: every part optional; `priority` 1 (first) … 5 (last)."""

    concurrency: ConcurrencyControl | None = None
    throttle: ThrottleControl | None = None
    debounce: DebounceControl | None = None
    batch: BatchControl | None = None
    priority: int = Field(default=3, ge=1, le=5)


def check_flow_control(flow: FlowControl | None, step_ids: set[str], path: str = "flow_control") -> list[Problem]:
    """The problems pydantic cannot see: durations, exclusions and key templates."""
    if flow is None:
        return []
    problems: list[Problem] = []
    if flow.debounce is not None and flow.batch is not None:
        problems.append(Problem(f"{path}.batch", "debounce and batch exclude each other: give one of them"))
    durations: list[tuple[str, Any]] = []
    if flow.throttle is not None:
        durations.append(("throttle.period", flow.throttle.period))
    if flow.debounce is not None:
        durations.append(("debounce.period", flow.debounce.period))
        if flow.debounce.max_wait is not None:
            durations.append(("debounce.max_wait", flow.debounce.max_wait))
    if flow.batch is not None:
        durations.append(("batch.timeout", flow.batch.timeout))
    for where, value in durations:
        problems += _check_positive(value, f"{path}.{where}")
    debounce = flow.debounce
    if (debounce is not None and debounce.max_wait is not None and not problems
            and parse_duration(debounce.max_wait) < parse_duration(debounce.period)):
        problems.append(Problem(f"{path}.debounce.max_wait", "must not be shorter than debounce.period; "
                                f"got {shorten(debounce.max_wait)}"))
    for name in ("concurrency", "throttle", "debounce", "batch"):
        part = getattr(flow, name)
        if part is not None and part.key is not None:
            problems += _check_key(part.key, f"{path}.{name}.key", step_ids)
    return problems


def _check_positive(value: Any, path: str) -> Iterable[Problem]:
    try:
        parsed = parse_duration(value)
    except DurationError as error:
        yield Problem(path, str(error))
        return
    if parsed.total_seconds() <= 0:
        yield Problem(path, f"must be greater than zero; got {shorten(value)}")


def _check_key(key: str, path: str, step_ids: set[str]) -> list[Problem]:
    try:
        tokens = template_tokens(key, path)
    except TemplateSyntaxError as error:
        return [Problem(path, str(error))]
    problems = []
    for _, token in tokens:
        root = token.split(".", 1)[0]
        if root in _NOT_KEY_ROOTS or root in step_ids:
            problems.append(Problem(path, f"a key is a path over the trigger (trigger.…, the entity alias or a "
                                          f"key of trigger.data); got {{{{{token}}}}}"))
    return problems


# ------------------------------------------------------------------------------ gates

Kind = Literal["concurrency", "throttle"]


class CollectGate(BaseModel):
    """A debounce or batch coordinator: which starts collapse into one run, and when it goes."""

    kind: Literal["debounce", "batch"]
    gate_id: str
    period_seconds: float = 0.0  # debounce: quiet time after the last start
    max_wait_seconds: float | None = None  # debounce: at most this long after the first
    max_size: int = 0  # batch: this many starts …
    timeout_seconds: float = 0.0  # … or this long after the first


def _seconds(value: str | int | float) -> float:
    return parse_duration(value).total_seconds()


def collect_gate(flow: FlowControl | None, *, tenant_id: str, workflow_id: str,
                 context: dict[str, Any]) -> CollectGate | None:
    if flow is None:
        return None
    if flow.debounce is not None:
        key, max_wait = render_key(flow.debounce.key, context), flow.debounce.max_wait
        return CollectGate(kind="debounce", gate_id=gate_id(tenant_id, workflow_id, "debounce", key),
                           period_seconds=_seconds(flow.debounce.period),
                           max_wait_seconds=None if max_wait is None else _seconds(max_wait))
    if flow.batch is not None:
        key = render_key(flow.batch.key, context)
        return CollectGate(kind="batch", gate_id=gate_id(tenant_id, workflow_id, "batch", key),
                           max_size=flow.batch.max_size, timeout_seconds=_seconds(flow.batch.timeout))
    return None


class Gate(BaseModel):
    """One coordinator a run passes: its Temporal id and what it enforces."""

    kind: Kind
    gate_id: str
    limit: int
    period_seconds: float = 0.0


class GateRequest(BaseModel):
    """A run asking a gate for admission (also carries the gate's current settings)."""

    run_id: str  # the run's Temporal workflow id
    arrived_at: float  # the run's start time (epoch seconds): the queue's order
    gate: Gate


def render_key(template: str | None, context: dict[str, Any]) -> str:
    if template is None:
        return ""
    value = render(template, context).value
    return value if isinstance(value, str) else str(value)


def gate_id(tenant_id: str, workflow_id: str, kind: str, key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"relay-flow:{tenant_id}:{workflow_id}:{kind}:{digest}"


def gates(flow: FlowControl | None, *, tenant_id: str, workflow_id: str, context: dict[str, Any]) -> list[Gate]:
    """The gates a run passes, in order: its concurrency slot first, then its throttle window (so
    a throttled start is one that runs at once)."""
    if flow is None:
        return []
    found = []
    if flow.concurrency is not None:
        key = render_key(flow.concurrency.key, context)
        found.append(Gate(kind="concurrency", gate_id=gate_id(tenant_id, workflow_id, "concurrency", key),
                          limit=flow.concurrency.limit))
    if flow.throttle is not None:
        key = render_key(flow.throttle.key, context)
        found.append(Gate(kind="throttle", gate_id=gate_id(tenant_id, workflow_id, "throttle", key),
                          limit=flow.throttle.limit,
                          period_seconds=parse_duration(flow.throttle.period).total_seconds()))
    return found


def priority_of(flow: FlowControl | None) -> int | None:
    """The run's Temporal priority key (1 first … 5 last); None without flow_control (Temporal's 3)."""
    return flow.priority if flow is not None else None


def run_priority(tenant_id: str, priority: int | None = None) -> Priority:
    """A run's Temporal task priority (SPEC §3.3): its tenant is the fairness key, so that one
    tenant's backlog on the shared task queue does not hold back another's runs, and the
    workflow's `priority` (1 first … 5 last, §2.7; None: Temporal's default, 3) orders tasks
    within it. Its activities inherit both. The server dispatches by them only with
    `matching.enableFairness` (app/devserver.py,
    deploy/temporal/dynamicconfig.yaml). Every start uses it: the API's, a schedule's, a call's child."""
    return Priority(priority_key=priority, fairness_key=tenant_id)
