"""The shorthand forms of SPEC §2.1, normalised to the canonical definition of SPEC §2.

Pure code, no I/O. `to_canonical` checks only the shape of the shorthand and names each
problem by its path in the shorthand ("actions.2.type"). What it returns is then
validated like any other definition by `workflows.validation.parse_definition`, and
those problems name paths in the canonical form ("workflow_blocks.0.input.url",
where block N is the Nth action after sorting by `order`).

Mapping decisions
-----------------
Both forms
  * camelCase keys are accepted (conditionEntity, actionType, actionConfig, isActive ->
    enabled, maxTriggersPerDay, workflowEditorState, triggerConstraints, timeWindow,
    onError). The same key given in both spellings is a problem.
  * name, description, trigger_constraints and the settings enabled,
    max_triggers_per_day, publish, workflow_editor_state are carried over unchanged;
    so is any other top-level key (the API refuses the ones no form knows, naming them). A body that mixes the two forms, or that also gives
    trigger_configuration, is a problem.
  * Action types: email -> send_email; slack -> send_channel_message; activepieces ->
    webhook; webhook and the canonical names (send_email, webhook,
    send_channel_message, create_task, update_field) are kept. Anything else is a problem.
  * slack: input.channel is set to "slack" when absent. A channel that is not a
    transport (slack/teams/discord/webhook), e.g. "#alerts", is what Slack calls a
    channel: it moves to input.recipient (a problem if a recipient is given too).
  * activepieces: the config's webhook_url / webhookUrl / url becomes input.url (it is
    required), payload / body / data becomes input.body, method defaults to POST, flow_id
    becomes the header X-Activepieces-Flow-Id (the URL already names the flow); other keys
    (headers, query, timeout, connection, anything unknown) are kept, so validation
    reports unknown ones instead of them being silently dropped. Same for webhook.
Single rule
  * event = "<condition_entity>.*" ("deal" -> "deal.*"); an entity that already holds a
    dot ("deal.updated") is used as the event name as is.
  * one condition {"field", "operator", "value"}; condition_value is required but may
    be "" (or null), and is then left out for the unary operators changed, exists,
    is_empty.
  * one Action block "action_1" whose input is action_config (default {}). create_task and
    update_field without entity / entity_id act on the triggering entity (seed 000):
    entity "{{trigger.entity}}", entity_id "{{trigger.entity_id}}".
Trigger + ordered actions
  * actions are sorted by `order` (a number); ties keep the given order and actions
    without `order` come last in the given order. Ids are action_1, action_2, … in the
    sorted order; an action's name, retry, timeout and on_error are carried over.
  * the trigger object (request / error / threshold / schedule) is seed 003's: its mapping
    is in workflows/seeds.py.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from workflows import seed_traffic, seeds
from workflows.definition import ACTION_TYPES
from workflows.aliases import camel_aliases
from workflows.conditions import UNARY_OPERATORS
from workflows.problems import Problem, shorten
from workflows.seeds import join as _join, rename_keys as _normalise

ACTION_ALIASES = {"email": "send_email", "slack": "send_channel_message", "activepieces": "webhook"}
CHANNELS = ("slack", "teams", "discord", "webhook")

TOP_ALIASES = _TOP_ALIASES = {
    **camel_aliases("enabled", "max_triggers_per_day", "workflow_editor_state", "trigger_constraints",
                    "trigger_type", "trigger_configuration", "workflow_blocks", "condition_entity",
                    "condition_field", "condition_operator", "condition_value", "action_type", "action_config"),
    "is_active": "enabled",
}
_RULE_REQUIRED = ("condition_entity", "condition_field", "condition_operator", "condition_value", "action_type")
_RULE_KEYS = {*_RULE_REQUIRED, "action_config"}
_LIST_KEYS = {"trigger", "actions"}
_ACTION_ITEM_KEYS = {"type", "config", "order", "name", "retry", "timeout", "on_error"}
class ShorthandError(ValueError):
    """A shorthand body that cannot be normalised; every problem with its path."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


def is_shorthand(body: Any) -> bool:
    """True for the two SPEC §2.1 forms; false for canonical bodies (and non-objects)."""
    if not isinstance(body, dict):
        return False
    keys = {_TOP_ALIASES.get(key, key) for key in body}
    if keys & {"workflow_blocks", "trigger_type"}:
        return False
    return bool(keys & (_RULE_KEYS | _LIST_KEYS))


def to_canonical(body: dict[str, Any]) -> dict[str, Any]:
    """The canonical definition (SPEC §2) for a shorthand body; raises ShorthandError."""
    if not is_shorthand(body):
        raise ShorthandError([Problem("$", "not a shorthand definition (condition_*/action_type, or trigger + actions)")])
    problems: list[Problem] = []
    data = _normalise(body, _TOP_ALIASES, "", problems)
    single = any(key in _RULE_KEYS for key in data)
    if single and any(key in _LIST_KEYS for key in data):
        raise ShorthandError([Problem("$", "give either condition_*/action_* (one rule) or trigger + actions, not both")])
    if "trigger_configuration" in data:
        problems.append(Problem("trigger_configuration",
                                "the shorthand makes the trigger configuration; leave it out"))
    trigger_type, config, actions = (_single_rule if single else _trigger_and_actions)(data, problems)
    if problems:
        raise ShorthandError(problems)
    out = {key: copy.deepcopy(data[key]) for key in ("name", "description") if key in data}
    out["trigger_type"], out["trigger_configuration"] = trigger_type, config
    if "trigger_constraints" in data:
        out["trigger_constraints"] = copy.deepcopy(data["trigger_constraints"])
    out["workflow_blocks"] = [{"$kind": "Action", "id": f"action_{n}", **action}
                              for n, action in enumerate(actions, start=1)]
    shorthand_keys = _RULE_KEYS | _LIST_KEYS
    out.update({key: copy.deepcopy(value) for key, value in data.items()
                if key not in out and key not in shorthand_keys})
    return out


# --- single rule -------------------------------------------------------------------------

def _single_rule(data: dict[str, Any], problems: list[Problem]) -> tuple[str, dict, list[dict]]:
    problems += [Problem(key, f"{key} is required in the single-rule form") for key in _RULE_REQUIRED if key not in data]
    for key in ("condition_entity", "condition_field", "condition_operator"):
        if key in data and not (isinstance(data[key], str) and data[key].strip()):
            problems.append(Problem(key, f"must be a non-empty string; got {shorten(data[key])}"))
    entity = data.get("condition_entity")
    if isinstance(entity, str) and entity.strip() and any(c.isspace() for c in entity):
        problems.append(Problem("condition_entity", f"an entity name has no spaces (its events are named "
                                f"like deal.updated); got {shorten(entity)}"))
    entity, operator = data.get("condition_entity"), data.get("condition_operator")
    condition = {"field": data.get("condition_field"), "operator": operator}
    value = data.get("condition_value")
    if not (operator in UNARY_OPERATORS and (value is None or value == "")):
        condition["value"] = copy.deepcopy(value)
    event = entity if isinstance(entity, str) and "." in entity else f"{entity}.*"
    actions = []
    if "action_type" in data:
        action = _action(data["action_type"], data.get("action_config"), "action_type", "action_config", problems)
        if action:
            action["input"] = seeds.crm_action_input(action["type"], action["input"])
        actions = [action] if action else []
    return "event", {"event": event, "conditions": [condition]}, actions


# --- actions -----------------------------------------------------------------------------

def _action(kind: Any, config: Any, type_path: str, config_path: str, problems: list[Problem]) -> dict | None:
    """{"type", "input"} for one shorthand action, or None after noting the problem."""
    config = {} if config is None else config
    canonical = ACTION_ALIASES.get(kind, kind) if isinstance(kind, str) else None
    if canonical not in ACTION_TYPES:
        allowed = ", ".join([*ACTION_ALIASES, *ACTION_TYPES])
        problems.append(Problem(type_path, f"unknown action type {kind!r}; allowed: {allowed}"))
        return None
    if not isinstance(config, dict):
        problems.append(Problem(config_path, f"must be an object; got {shorten(config)}"))
        return None
    config = copy.deepcopy(config)
    if kind == "slack":
        config = _slack_input(config, config_path, problems)
    elif kind == "activepieces":
        config = _activepieces_input(config, config_path, problems)
    return {"type": canonical, "input": config}


def _slack_input(config: dict[str, Any], path: str, problems: list[Problem]) -> dict[str, Any]:
    channel = config.get("channel")
    if channel is None:
        config["channel"] = "slack"
    elif channel not in CHANNELS:  # a Slack channel such as "#alerts": the recipient
        if "recipient" in config:
            problems.append(Problem(_join(path, "channel"), f"channel is one of {', '.join(CHANNELS)}; "
                                    "put the Slack channel in recipient"))
        else:
            config["channel"], config["recipient"] = "slack", channel
    return config


def _one_of(config: dict[str, Any], keys: tuple[str, ...], path: str, problems: list[Problem]) -> Any:
    given = [key for key in keys if key in config]
    if len(given) > 1:
        problems.append(Problem(_join(path, given[1]), f"give one of {', '.join(given)}"))
    return [config.pop(key) for key in given][0] if given else None


def _activepieces_input(config: dict[str, Any], path: str, problems: list[Problem]) -> dict[str, Any]:
    url = _one_of(config, ("webhook_url", "webhookUrl", "url"), path, problems)
    if url is None:
        problems.append(Problem(_join(path, "webhook_url"), "the Activepieces webhook URL is required"))
    body = _one_of(config, ("payload", "body", "data"), path, problems)
    out = {"url": url, "method": config.pop("method", "POST")}
    if body is not None:
        out["body"] = body
    flow_id = _one_of(config, ("flow_id", "flowId"), path, problems)
    if flow_id is not None:  # seed 003: the flow's id travels as a header, the payload stays `data`
        headers = config.pop("headers", None) or {}
        if not isinstance(headers, dict):
            problems.append(Problem(_join(path, "headers"), f"must be an object, not {headers!r}"[:200]))
            headers = {}
        out["headers"] = {**headers, "X-Activepieces-Flow-Id": flow_id}
    return {**out, **config}


def _actions(actions: Any, problems: list[Problem]) -> list[dict]:
    if not isinstance(actions, list) or not actions:
        problems.append(Problem("actions", f"must be a non-empty list of actions; got {shorten(actions)}"))
        return []
    ranked = []
    for i, item in enumerate(actions):
        path = f"actions.{i}"
        if not isinstance(item, dict):
            problems.append(Problem(path, f"an action must be an object; got {shorten(item)}"))
            continue
        item = _normalise(item, camel_aliases("on_error"), path, problems)
        problems += [Problem(f"{path}.{key}", f"unknown key '{key}'") for key in item if key not in _ACTION_ITEM_KEYS]
        order = item.get("order")
        if order is not None and (isinstance(order, bool) or not isinstance(order, (int, float))
                                  or not math.isfinite(order)):
            problems.append(Problem(f"{path}.order", f"must be a number; got {shorten(order)}"))
        if "type" not in item:
            problems.append(Problem(f"{path}.type", "type is required"))
            continue
        action = _action(item["type"], item.get("config"), f"{path}.type", f"{path}.config", problems)
        if action is None:
            continue
        extras = {key: copy.deepcopy(item[key]) for key in ("name", "retry", "timeout", "on_error") if key in item}
        block = {"type": action["type"], **({"name": extras.pop("name")} if "name" in extras else {}),
                 "input": action["input"], **extras}
        ranked.append(((order is None, order if isinstance(order, (int, float)) else 0, i), block))
    return [block for _, block in sorted(ranked, key=lambda pair: pair[0])]


# --- triggers ----------------------------------------------------------------------------

def _trigger_and_actions(data: dict[str, Any], problems: list[Problem]) -> tuple[str | None, dict, list[dict]]:
    trigger_type, config = seed_traffic.api_traffic_trigger(data.get("trigger"), problems)
    return trigger_type, config, _actions(data.get("actions"), problems)
