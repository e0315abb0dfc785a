"""The per-tenant quotas of SPEC §3.3: their names and how a set of them is read and checked."""

from __future__ import annotations

import json
from typing import Any

QUOTAS = ("max_running_instances", "max_runs_per_day", "max_workflows")


def quota_problems(value: Any, path: str) -> list[dict[str, Any]]:
    """Why `value` is not a set of quotas (an object of known names, each a positive integer or null)."""
    if not isinstance(value, dict):
        return [{"path": path, "message": f"must be an object of {', '.join(QUOTAS)}", "value": value}]
    problems = []
    for name, limit in value.items():
        if name not in QUOTAS:
            problems.append({"path": f"{path}.{name}", "message": f"unknown quota; one of {', '.join(QUOTAS)}",
                             "value": name})
        elif limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            problems.append({"path": f"{path}.{name}", "message": "must be a non-negative integer or null (unlimited)",
                             "value": limit})
    return problems


def parse_quotas(text: str) -> dict[str, int | None]:
    """RELAY_TENANT_QUOTAS: every quota, null (unlimited) unless the JSON object sets it."""
    try:
        given = json.loads(text or "{}")
    except ValueError as error:
        raise ValueError(f"RELAY_TENANT_QUOTAS is not JSON: {error}") from None
    problems = quota_problems(given, "RELAY_TENANT_QUOTAS")
    if problems:
        raise ValueError(f"RELAY_TENANT_QUOTAS: {problems[0]['path']} {problems[0]['message']}")
    return {name: given.get(name) for name in QUOTAS}
