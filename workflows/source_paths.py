"""Where a problem of a normalised body was written (SPEC §2.1, docs/seeds.md), pure code.

The shorthand forms and the seed spellings are made canonical before validation
(workflows/shorthand.py, workflows/seeds.py), so validation names canonical paths
(`workflow_blocks.0.input.message`, `trigger_configuration.time_window`, `enabled`). A client
wrote `action_config.message`, `trigger.conditions.0.timeWindow` or `isActive`: `source_paths`
pairs each canonical prefix with the body's own path, and `as_written` renames a path by its
longest matching prefix (the whole path, for a pair whose written path ends in WHOLE: a
request condition's key holds its field, operator and value at once). A path no pair covers
is left as it is (the canonical form itself).
"""

from __future__ import annotations

from typing import Any

from workflows import seed_traffic
from workflows.seed_traffic import _mentions_status as mentions_status  # the seeds' own rules, not a copy
from workflows.seed_traffic import _request_conditions as request_conditions

Pairs = list[tuple[str, str]]
WHOLE = "$"  # a written path ending so stands for everything under its canonical prefix

_SINGLE_RULE = {"trigger_configuration.event": "condition_entity",
                "trigger_configuration.conditions.0.field": "condition_field",
                "trigger_configuration.conditions.0.operator": "condition_operator",
                "trigger_configuration.conditions.0.value": "condition_value",
                "trigger_configuration.conditions.0": "condition_operator",
                "workflow_blocks.0.type": "action_type", "workflow_blocks.0.input": "action_config",
                "workflow_blocks.0": "action_config"}


def as_written(path: str, pairs: Pairs) -> str:
    """`path` with its longest canonical prefix in `pairs` replaced by where the body wrote it."""
    best = None
    for canonical, written in pairs:
        if (path == canonical or path.startswith(canonical + ".")) and (best is None or len(canonical) > len(best[0])):
            best = (canonical, written)
    if best is None:
        return path
    written = best[1]
    return written[:-1] if written.endswith(WHOLE) else written + path[len(best[0]):]


def source_paths(body: dict[str, Any], aliases: dict[str, str]) -> Pairs:
    """The (canonical prefix, written path) pairs of `body` as the client sent it; `aliases` are
    the top-level camelCase names normalisation renames (isActive -> enabled)."""
    pairs = [(aliases[key], key) for key in body if key in aliases and aliases[key] not in body]
    names = {aliases.get(key, key) for key in body}
    if names & {"workflow_blocks", "trigger_type"}:  # seed 001's cron-trigger may give a bare cron string
        config = next((key for key in ("trigger_configuration", "triggerConfiguration") if key in body), None)
        return pairs + ([("trigger_configuration.cron", config)] if config and isinstance(body[config], str) else [])
    if names & {"condition_entity", "condition_field", "condition_operator", "condition_value", "action_type"}:
        config = body.get("action_config", body.get("actionConfig"))
        written = "actionConfig" if "actionConfig" in body else "action_config"
        pairs += [(canonical, _camel(source, body)) for canonical, source in _SINGLE_RULE.items()]
        return pairs + [(f"workflow_blocks.0.input.{c}", f"{written}.{s}") for c, s in _input_keys(config).items()]
    if isinstance(body.get("trigger"), dict):
        pairs += _trigger(body["trigger"])
    if isinstance(body.get("actions"), list):
        pairs += _actions(body["actions"])
    return pairs


def _camel(path: str, body: dict[str, Any]) -> str:
    """condition_field -> conditionField when the body wrote it so."""
    head, dot, rest = path.partition(".")
    camel = "".join(part.capitalize() if i else part for i, part in enumerate(head.split("_")))
    return camel + dot + rest if camel in body and head not in body else path


def _input_keys(config: Any) -> dict[str, str]:
    """Input keys the shorthand renames: a Slack channel name moves to `recipient`, the
    Activepieces URL and payload become `url` and `body` (workflows/shorthand.py)."""
    if not isinstance(config, dict):
        return {}
    out = {}
    if isinstance(config.get("channel"), str) and "recipient" not in config:
        out["recipient"] = "channel"
    out.update({"url": key for key in ("webhook_url", "webhookUrl") if key in config})
    out.update({"body": key for key in ("payload", "data") if key in config})
    return out


def _actions(actions: list[Any]) -> Pairs:
    """Blocks are the actions sorted by `order` (stable; none = last), as shorthand._actions does."""
    def rank(pair: tuple[int, Any]) -> tuple:
        i, item = pair
        order = item.get("order") if isinstance(item, dict) else None
        number = isinstance(order, (int, float)) and not isinstance(order, bool)
        return (order is None, order if number else 0, i)

    pairs = []
    for k, (i, item) in enumerate(sorted(enumerate(actions), key=rank)):
        config = item.get("config") if isinstance(item, dict) else None
        pairs += [(f"workflow_blocks.{k}", f"actions.{i}"), (f"workflow_blocks.{k}.input", f"actions.{i}.config")]
        pairs += [(f"workflow_blocks.{k}.input.{c}", f"actions.{i}.config.{s}") for c, s in _input_keys(config).items()]
    return pairs


def _trigger(trigger: dict[str, Any]) -> Pairs:
    pairs = [("trigger_type", "trigger.type"), ("trigger_configuration", "trigger")]
    kind = trigger.get("type")
    if kind == "schedule":
        given = [key for key in ("schedule", "cron") if key in trigger]
        return pairs + [("trigger_configuration.cron", f"trigger.{given[0]}")] if given else pairs
    if kind == "threshold":
        conditions = trigger.get("conditions")
        base, where = ("trigger.conditions.0", conditions[0]) if isinstance(conditions, list) and conditions \
            and isinstance(conditions[0], dict) else ("trigger", trigger)
        pairs.append(("trigger_configuration", base))
        window = "timeWindow" if "timeWindow" in where else "time_window"
        value = "threshold" if "threshold" in where and "value" not in where else "value"
        return pairs + [("trigger_configuration.time_window", f"{base}.{window}"),
                        ("trigger_configuration.value", f"{base}.{value}")]
    return pairs + _request_conditions(trigger.get("conditions"), kind)


def _request_conditions(raw: Any, kind: Any) -> Pairs:
    """Canonical condition k of a request/error trigger -> the object (or key of an object) it came
    from, counted by the very function that makes them; an error trigger's added status check
    comes first unless a condition names the status code."""
    if isinstance(raw, dict):
        items = [("trigger.conditions", raw)]
    elif isinstance(raw, list):
        items = [(f"trigger.conditions.{i}", item) for i, item in enumerate(raw) if isinstance(item, dict)]
    else:
        return []
    written, made = [], []
    for path, item in items:
        conditions = request_conditions([item], [])
        made += conditions
        keyed = len(conditions) == len(item) and not any(key in item for key in seed_traffic._FIELD_FORM_KEYS)
        written += [f"{path}.{key}{WHOLE}" for key in item] if keyed else [path] * len(conditions)
    offset = 1 if kind == "error" and not mentions_status(made) else 0
    pairs = [("trigger_configuration.conditions.0", "trigger.type" + WHOLE)] if offset else []
    return pairs + [(f"trigger_configuration.conditions.{k + offset}", path) for k, path in enumerate(written)]
