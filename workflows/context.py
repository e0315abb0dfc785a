"""The template context of SPEC §2.5, built in layers (pure, no I/O)."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from workflows.models import RunInput

# Names a trigger's data keys may not shadow.
RESERVED_ROOTS = ("trigger", "workflow", "instance", "now", "secrets", "item", "index", "metric")


def base_context(run: RunInput, now_iso: str, instance_id: str | None = None) -> dict[str, Any]:
    """The part of the context that does not change during a run."""
    trigger = run.trigger.model_dump(mode="json")
    context: dict[str, Any] = {}
    for key, value in run.trigger.data.items():  # {{request.path}} for api.request events
        if key not in RESERVED_ROOTS:
            context[key] = value
    entity = run.trigger.entity or _entity_of(run.trigger.event)
    if entity and entity not in RESERVED_ROOTS:
        context[entity] = run.trigger.data  # {{deal.name}} is trigger.data.name
    context.update(
        trigger=trigger,
        workflow={"id": run.workflow_id, "name": run.workflow_name, "version": run.version},
        instance={"id": instance_id or run.instance_id},
        now=now_iso,
    )
    if run.trigger.metric is not None:  # seed 003 spells it {{metric.timeWindow}}
        context["metric"] = {**run.trigger.metric, "timeWindow": run.trigger.metric.get("time_window")}
    if "account" not in context and run.tenant_name is not None:  # seed 003's {{account.name}}
        context["account"] = {"id": run.tenant_id, "name": run.tenant_name}
    return context


def _entity_of(event: str | None) -> str | None:
    if not event or "." not in event:
        return None
    return event.split(".", 1)[0]


class Scope:
    """One level of block nesting: its own step outputs and loop variables.

    Step outputs live in the scope where the step ran, so concurrent for_each
    iterations never see each other's outputs; lookups fall back to outer scopes.
    """

    def __init__(self, parent: Scope | None = None, variables: Mapping[str, Any] | None = None,
                 base: dict[str, Any] | None = None):
        self.parent = parent
        self.local: dict[str, Any] = dict(variables or {})
        self.base: dict[str, Any] = base if base is not None else (parent.base if parent else {})
        self.iteration: int | None = self.local.get("index", parent.iteration if parent else None)
        self.loop_index: int | None = self.local.get("index")  # set on a for_each iteration's own scope

    def loop_indices(self) -> list[int]:
        """The iteration index of every for_each this scope is inside, outermost first."""
        indices: list[int] = []
        scope: Scope | None = self
        while scope is not None:
            if scope.loop_index is not None:
                indices.append(scope.loop_index)
            scope = scope.parent
        return indices[::-1]

    def child(self, **variables: Any) -> Scope:
        return Scope(self, variables)

    def record(self, step_id: str, status: str, output: Any) -> None:
        self.local[step_id] = {"output": output, "status": status}

    def context(self) -> ChainMap[str, Any]:
        maps: list[dict[str, Any]] = []
        scope: Scope | None = self
        while scope is not None:
            maps.append(scope.local)
            scope = scope.parent
        maps.append(self.base)
        return ChainMap(*maps)
