"""Event matching (SPEC §2.2, §2.3): which event-triggered workflows an event starts.

Candidates come from one indexed query: `workflows.trigger_key` holds each event pattern up
to its first glob, cut back to a dot (see `workflows.trigger_key_for`), so the only patterns
that can match "deal.stage.changed" have a key among its dot-prefixes: "", "deal.",
"deal.stage." and "deal.stage.changed". Their active versions come in the same query. Each
candidate's full pattern (fnmatch), its `conditions` (all must hold) and its
`trigger_constraints` (JSON Logic over the template context a run would see) then decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

import structlog
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from app.config import Settings
from app.db.repo import start_rows
from app.db.repo.start_rows import WorkflowCache
from app.db.tables import Workflow
from app.services import triggering
from app.services.errors import InvalidInput, WorkflowDisabled
from app.services.quotas import QuotaExceeded
from workflows import jsonlogic
from workflows.conditions import evaluate_event_condition
from workflows.context import base_context
from workflows.models import RunInput, TriggerInfo
from workflows.problems import shorten

log = structlog.get_logger("relay.events")

MAX_DEPTH = 8  # SPEC §5: a trigger arriving with X-Relay-Depth of 8 or more is refused
# What all the trigger_constraints one event evaluates may spend together (each rule still has its own
# jsonlogic.MAX_OPERATIONS): without it, N workflows on one event cost N budgets (30 stalled the API 2.4 s).
EVENT_OPERATIONS = 5 * jsonlogic.MAX_OPERATIONS


def depth_of(header: str | None) -> int:
    """The X-Relay-Depth of an incoming trigger; 400 when unreadable, or when it says we are looping."""
    if header is None:
        return 0
    value = header.strip()
    if not (value.isascii() and value.isdigit()):  # str.isdigit() is also true of "²" and "٣"
        raise InvalidInput("X-Relay-Depth must be a non-negative integer",
                           details=[{"path": "X-Relay-Depth", "message": "must be a non-negative integer; "
                                     f"got {shorten(value)}", "value": value[:40]}])
    digits = value.lstrip("0") or "0"
    if len(digits) > 6:  # int() of thousands of digits is refused by Python itself (and is a loop anyway)
        raise InvalidInput(f"refused: X-Relay-Depth is a {len(digits)}-digit number "
                           f"(limit {MAX_DEPTH}); workflows that trigger each other look like a loop",
                           details=[{"path": "X-Relay-Depth", "message": f"must be below {MAX_DEPTH} (trigger loop)"}])
    depth = int(digits)
    if depth >= MAX_DEPTH:
        raise InvalidInput(f"refused: X-Relay-Depth is {depth} (limit {MAX_DEPTH}); "
                           "workflows that trigger each other look like a loop",
                           details=[{"path": "X-Relay-Depth", "message": f"must be below {MAX_DEPTH} (trigger loop)"}])
    return depth


@dataclass(frozen=True)
class Candidate:
    """What matching needs of one workflow: its identity and its active version's trigger parts."""

    tenant_id: str
    workflow_id: str
    name: str
    version: int
    configuration: dict[str, Any]
    constraints: dict[str, Any] | None


class OverBudget(Exception):
    """A workflow's `trigger_constraints` reached the evaluation budget on this event."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def constraints_hold(candidate: Candidate, trigger: TriggerInfo, spent: jsonlogic.Budget | None = None) -> bool:
    """`trigger_constraints` against the run's template context (§2.5); a rule that errors is false.
    A rule that reaches the evaluation budget (its own, or what is left of the event's `spent`) is
    false too, and raises OverBudget so it is noted."""
    if not candidate.constraints:
        return True
    spent = spent or jsonlogic.Budget(EVENT_OPERATIONS)
    budget = jsonlogic.Budget()
    if spent.left < budget.left:
        budget = jsonlogic.Budget(max(spent.left, 0), reason=f"the trigger_constraints of this event's workflows "
                                  f"need more than {EVENT_OPERATIONS} operations together")
    # base_context reads only the trigger and the workflow's identity; the definition is not needed.
    # (model_construct validates nothing; the pydantic plugin still types it with every required field)
    run = RunInput.model_construct(  # type: ignore[call-arg]
        tenant_id=candidate.tenant_id, instance_id="", workflow_id=candidate.workflow_id,
        workflow_name=candidate.name, version=candidate.version, trigger=trigger)
    now = (trigger.received_at or datetime.now(UTC)).isoformat()
    start = budget.left
    try:
        return jsonlogic.truthy(jsonlogic.apply(candidate.constraints, base_context(run, now), budget))
    except jsonlogic.BudgetExceeded as exc:
        where = exc.where("trigger_constraints")
        log.warning("event.constraints_over_budget", tenant_id=candidate.tenant_id,
                    workflow_id=candidate.workflow_id, event_type=trigger.event, path=where, reason=str(exc))
        raise OverBudget(f"trigger_constraints counted as false: {exc} (at {where})") from None
    except Exception:  # noqa: BLE001 - SPEC §2.3: a rule that errors counts as false
        log.info("event.constraints_error", workflow_id=candidate.workflow_id)
        return False
    finally:
        spent.left -= start - budget.left


def conditions_hold(conditions: Any, trigger: TriggerInfo) -> bool:
    try:
        return all(evaluate_event_condition(c, trigger.data, trigger.previous) for c in conditions or [])
    except Exception:  # noqa: BLE001 - a condition that cannot be evaluated does not hold
        return False


def matches(candidate: Candidate, trigger: TriggerInfo, spent: jsonlogic.Budget | None = None) -> bool:
    pattern = candidate.configuration.get("event")
    if not isinstance(pattern, str) or not fnmatchcase(trigger.event or "", pattern):
        return False
    return (conditions_hold(candidate.configuration.get("conditions"), trigger)
            and constraints_hold(candidate, trigger, spent))


async def find_matches(session: AsyncSession, *, tenant_id: str, trigger: TriggerInfo,
                       over_budget: list[dict[str, str]] | None = None,
                       cache: WorkflowCache | None = None) -> list[tuple[Workflow, int]]:
    """The tenant's enabled event workflows whose active version matches `trigger` (with that
    version's number), oldest first. One query whatever the tenant's size: the candidates (the
    index on (tenant_id, trigger_type, trigger_key) keeps workflows on other events out) with
    only the trigger parts of their active definitions (blocks are never read). A workflow whose
    constraints reached the evaluation budget does not match, and is added to `over_budget`."""
    matched: list[tuple[Workflow, int]] = []
    spent = jsonlogic.Budget(EVENT_OPERATIONS)  # shared by every candidate's constraints
    for row, version, configuration, constraints in await start_rows.event_candidates(
            session, tenant_id=tenant_id, event=trigger.event or "", cache=cache):
        candidate = Candidate(tenant_id, row.id, row.name, version, configuration or {}, constraints)
        try:
            matched_here = matches(candidate, trigger, spent)
        except OverBudget as exc:
            if over_budget is not None:
                over_budget.append({"workflow_id": candidate.workflow_id, "code": "constraints_over_budget",
                                    "message": exc.message})
            continue
        if matched_here:
            matched.append((row, version))
    return matched


@dataclass
class Dispatch:
    matched: list[str]
    instances: list[str]
    refused: list[dict[str, str]]


async def dispatch(session: AsyncSession, client: Client, settings: Settings, *, tenant_id: str,
                   trigger: TriggerInfo, depth: int = 0, idempotency_key: str | None = None,
                   cache: WorkflowCache | None = None) -> Dispatch:
    """Start one run per matching workflow, through the circuit breaker.

    A refusal by a workflow's breaker (or a disable that raced us) or by a tenant quota is reported, not raised;
    anything else (Temporal down) fails the request so the caller retries. With an
    Idempotency-Key every run id derives from it and the workflow id, so that retry finds
    the runs already started instead of starting them twice.
    """
    result = Dispatch(matched=[], instances=[], refused=[])
    for workflow, version in await find_matches(session, tenant_id=tenant_id, trigger=trigger,
                                                over_budget=result.refused, cache=cache):
        result.matched.append(workflow.id)
        key = f"{idempotency_key}:{workflow.id}" if idempotency_key else None
        try:
            instance = await triggering.start(session, client, settings, workflow=workflow, trigger=trigger,
                                              version_number=version,  # the one that matched
                                              depth=depth, idempotency_key=key, cache=cache)
        except (WorkflowDisabled, QuotaExceeded) as error:  # listed under `refused`, not raised
            result.refused.append({"workflow_id": workflow.id, "code": error.kind, "message": error.message})
            continue
        result.instances.append(instance["id"])
    log.info("event.dispatched", tenant_id=tenant_id, event_type=trigger.event, matched=len(result.matched),
             started=len(result.instances))
    return result
