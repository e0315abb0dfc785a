"""Seed 003 (API-traffic workflows) is the "trigger + ordered actions" shorthand
(workflows/shorthand.py); `api_traffic_trigger` maps its `trigger` object:

  * request / error -> event trigger on "api.request". `conditions` is a list of objects
    that must all hold; one object may hold several keys that must all hold
    ([{"path": "/api/users", "method": "POST", "statusCode": 201}]); an object with
    "field" | "key" (and "operator"?, "value") is one condition on that key; a single object
    instead of a list is a list of one. path -> request.path ("matches", a glob, when the
    value holds "*", else "equals"); method -> request.method (value upper-cased);
    statusCode / status_code -> response.statusCode; any other key is a dotted path into
    the event's data. Without an operator: a list value means "in" (for path, globs in it
    become an "any" of matches), otherwise equals. Combinator items ({"all": …}) pass through.
  * error adds {"field": "response.statusCode", "operator": "greater_or_equal",
    "value": 500} first, unless some condition already mentions response.statusCode.
  * threshold -> {"metric", "operator" (default greater_than; >, >=, <, <=, ==, != are
    accepted), "value" (or "threshold"), "time_window" (timeWindow; default "5m"),
    "aggregate" (default "avg")}, given as `conditions: [{…}]` (one: Relay watches one
    metric per workflow) or flat on the trigger, not both.
  * schedule -> {"cron": schedule (or cron), "timezone": timezone or "UTC", "overlap"?}
    or {"interval": interval}; exactly one of them.
"""

from __future__ import annotations

import copy
from typing import Any

from workflows.aliases import camel_aliases
from workflows.conditions import COMBINATORS
from workflows.problems import Problem
from workflows.seeds import join, rename_keys

TRIGGER_KINDS = ("request", "error", "threshold", "schedule")
_THRESHOLD_KEYS = {"metric", "operator", "value", "threshold", "time_window", "aggregate"}
_TRIGGER_KEYS = {
    "request": {"type", "conditions"},
    "error": {"type", "conditions"},
    "threshold": {"type", "conditions", *_THRESHOLD_KEYS},
    "schedule": {"type", "schedule", "cron", "interval", "timezone", "overlap"},
}
_REQUEST_FIELDS = {"path": "request.path", "method": "request.method",
                   "statusCode": "response.statusCode", "status_code": "response.statusCode"}
_STATUS = "response.statusCode"
_FIELD_FORM_KEYS = ("field", "key", "operator", "operatorName", "value", *COMBINATORS)
_SYMBOLS = {">": "greater_than", ">=": "greater_or_equal", "<": "less_than", "<=": "less_or_equal",
            "==": "equals", "!=": "not_equals"}


def api_traffic_trigger(trigger: Any, problems: list[Problem]) -> tuple[str | None, dict]:
    """Seed 003's `trigger` object → (canonical trigger_type, trigger_configuration)."""
    if not isinstance(trigger, dict):
        problems.append(Problem("trigger", "trigger is required: an object with a type"))
        return None, {}
    trigger = rename_keys(trigger, camel_aliases("time_window"), "trigger", problems)
    kind = trigger.get("type")
    if kind not in TRIGGER_KINDS:
        message = "type is required" if kind is None else f"unknown trigger type {kind!r}"
        problems.append(Problem("trigger.type", f"{message}; allowed: {', '.join(TRIGGER_KINDS)}"))
        return None, {}
    problems += [Problem(f"trigger.{key}", f"unknown key '{key}' for a {kind} trigger")
                 for key in trigger if key not in _TRIGGER_KEYS[kind]]
    if kind == "threshold":
        return "threshold", _threshold(trigger, problems)
    if kind == "schedule":
        return "schedule", _schedule(trigger, problems)
    conditions = _request_conditions(trigger.get("conditions"), problems)
    if kind == "error" and not _mentions_status(conditions):
        conditions.insert(0, {"field": _STATUS, "operator": "greater_or_equal", "value": 500})
    return "event", {"event": "api.request", "conditions": conditions}


def _threshold(trigger: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """Seed 003's `conditions: [{"metric", "operator", "value", "timeWindow"}]`, or the same keys
    flat on the trigger; Relay watches one metric per workflow, so one condition."""
    path = "trigger"
    if "conditions" in trigger:
        conditions = trigger["conditions"]
        if flat := sorted(_THRESHOLD_KEYS & trigger.keys()):
            problems.append(Problem(f"trigger.{flat[0]}", "give the threshold in conditions or flat on the "
                                    "trigger, not both"))
        if not (isinstance(conditions, list) and len(conditions) == 1 and isinstance(conditions[0], dict)):
            problems.append(Problem("trigger.conditions", "a threshold trigger takes one condition "
                                    "[{metric, operator, value, timeWindow}], not " + repr(conditions)[:120]))
            return {}
        path = "trigger.conditions.0"
        trigger = rename_keys(conditions[0], camel_aliases("time_window"), path, problems)
        problems += [Problem(f"{path}.{key}", f"unknown key '{key}' for a threshold condition")
                     for key in trigger if key not in _THRESHOLD_KEYS]
    if not (isinstance(trigger.get("metric"), str) and trigger["metric"]):
        problems.append(Problem(f"{path}.metric", f"metric is required, not {trigger.get('metric')!r}"))
    if "value" in trigger and "threshold" in trigger:
        problems.append(Problem(f"{path}.threshold", "give value or threshold, not both"))
    value = trigger.get("value", trigger.get("threshold"))
    if value is None:
        problems.append(Problem(f"{path}.value", "value (or threshold) is required"))
    operator = trigger.get("operator", "greater_than")
    return {"metric": trigger.get("metric"), "operator": _SYMBOLS.get(operator, operator) if isinstance(operator, str)
            else operator, "value": value, "time_window": trigger.get("time_window", "5m"),
            "aggregate": trigger.get("aggregate", "avg")}


def _schedule(trigger: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
    given = [key for key in ("schedule", "cron", "interval") if key in trigger]
    if len(given) != 1:
        problems.append(Problem("trigger.schedule", "give exactly one of schedule (a cron expression) or interval"))
        return {}
    if given[0] == "interval":
        return {"interval": trigger["interval"]}
    config = {"cron": trigger[given[0]], "timezone": trigger.get("timezone", "UTC")}
    if "overlap" in trigger:
        config["overlap"] = trigger["overlap"]
    return config


def _request_conditions(raw: Any, problems: list[Problem]) -> list[dict]:
    """Seed 003's conditions: a list of objects, each object's keys all holding
    ([{"path": "/api/users", "method": "POST", "statusCode": 201}]), or of {"field" | "key",
    "operator"?, "value"} items; a single object of keys is the same as a list of one."""
    if raw is None:
        return []
    if isinstance(raw, dict):
        raw, paths = [raw], ["trigger.conditions"]
    elif isinstance(raw, list):
        paths = [f"trigger.conditions.{i}" for i in range(len(raw))]
    else:
        problems.append(Problem("trigger.conditions", "must be an object or a list of conditions"))
        return []
    conditions = []
    for path, item in zip(paths, raw):
        if not isinstance(item, dict):
            problems.append(Problem(path, f"a condition must be an object, not {item!r}"[:200]))
        elif any(key in item for key in _FIELD_FORM_KEYS):  # {"field" | "key", "operator"?, "value"}
            condition = _request_condition(item, path, problems)
            conditions += [condition] if condition is not None else []
        elif not item:
            problems.append(Problem(path, "an empty condition; give keys such as path, method, statusCode"))
        else:  # every key of the object is one condition on that key, and all must hold
            made = [_request_condition({"field": key, "value": value}, f"{path}.{key}", problems)
                    for key, value in item.items()]
            conditions += [condition for condition in made if condition is not None]
    return conditions


def _request_condition(item: dict[str, Any], path: str, problems: list[Problem]) -> dict | None:
    if any(key in item for key in COMBINATORS):
        return copy.deepcopy(item)
    item = copy.deepcopy(item)
    if "field" in item and "key" in item:
        problems.append(Problem(f"{path}.key", "give field or key, not both"))
        return None
    name = item.pop("key") if "key" in item else item.pop("field", None)
    if not (isinstance(name, str) and name):
        problems.append(Problem(f"{path}.field", f"field (or key) must name path, method, statusCode or a dotted "
                                f"path into the api.request event, not {name!r}"[:200]))
        return None
    if name == "method" and "value" in item:
        value = item["value"]
        item["value"] = [v.upper() if isinstance(v, str) else v for v in value] if isinstance(value, list) \
            else value.upper() if isinstance(value, str) else value
    field = _REQUEST_FIELDS.get(name, name)
    if "operator" in item or "operatorName" in item:
        return {"field": field, **item}
    value = item.get("value")
    if isinstance(value, list):
        if field == "request.path" and any(isinstance(v, str) and "*" in v for v in value):
            return {"any": [_path_condition(v) for v in value]}
        return {"field": field, "operator": "in", **item}
    if field == "request.path":
        return {**_path_condition(value), **item}
    return {"field": field, "operator": "equals", **item}


def _path_condition(value: Any) -> dict[str, Any]:
    glob = isinstance(value, str) and "*" in value
    return {"field": "request.path", "operator": "matches" if glob else "equals", "value": value}


def _mentions_status(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get("field") == _STATUS or any(_mentions_status(v) for v in value.values())
    if isinstance(value, list):
        return any(_mentions_status(v) for v in value)
    return False
