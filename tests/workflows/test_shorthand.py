"""The SPEC §2.1 shorthand forms become canonical definitions that validate and match."""

import copy

import pytest

from workflows.conditions import evaluate_event_condition
from workflows.shorthand import ShorthandError, is_shorthand, to_canonical
from workflows.validation import DefinitionInvalid, parse_definition

SLACK_MESSAGE = {"channel": "slack", "recipient": "#sales-wins", "message": "Deal {{deal.name}} won"}
HOOK_URL = "https://hooks.example.com/relay"


def canonical(body: dict) -> dict:
    """to_canonical, checked to pass the same validation as any canonical definition."""
    result = to_canonical(body)
    parse_definition(result)
    return result


def paths(body: dict) -> list[str]:
    with pytest.raises(ShorthandError) as caught:
        to_canonical(body)
    return [problem.path for problem in caught.value.problems]


def matches(definition: dict, data: dict) -> bool:
    return all(evaluate_event_condition(c, data, None) for c in definition["trigger_configuration"]["conditions"])


def api_request(method: str = "GET", path: str = "/", status: int = 200) -> dict:
    return {"request": {"method": method, "path": path, "headers": {}, "query": {}, "body": None},
            "response": {"statusCode": status, "headers": {}, "body": None, "size": 0},
            "timings": {"duration": 12, "responseTime": 10}}


def rule(**overrides) -> dict:
    body = {"name": "Won deals", "condition_entity": "deal", "condition_field": "status",
            "condition_operator": "changed_to", "condition_value": "won",
            "action_type": "send_channel_message", "action_config": SLACK_MESSAGE,
            "max_triggers_per_day": 50, "enabled": True}
    body.update(overrides)
    return body


# --- detection ---------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    rule(),
    {"name": "x", "conditionEntity": "deal", "actionType": "email"},
    {"name": "x", "trigger": {"type": "request"}, "actions": []},
    {"name": "x", "actions": [{"type": "email"}]},
])
def test_both_shorthand_forms_are_detected(body):
    assert is_shorthand(body)


@pytest.mark.parametrize("body", [
    {"name": "x", "trigger_type": "manual", "workflow_blocks": []},
    {"name": "x", "triggerType": "event", "trigger_configuration": {"event": "deal.*"}},
    {"name": "x", "workflowBlocks": []},
    {"name": "x", "trigger_type": "manual", "trigger": {"type": "request"}},
    {"name": "only a name"},
    "not an object",
])
def test_canonical_bodies_are_not_shorthand(body):
    assert not is_shorthand(body)


def test_to_canonical_refuses_a_canonical_body():
    assert paths({"name": "x", "trigger_type": "manual", "workflow_blocks": []}) == ["$"]


# --- single rule -------------------------------------------------------------------------

def test_single_rule_becomes_an_event_trigger_with_one_action():
    assert canonical(rule(description="ping")) == {
        "name": "Won deals", "description": "ping",
        "trigger_type": "event",
        "trigger_configuration": {"event": "deal.*", "conditions": [
            {"field": "status", "operator": "changed_to", "value": "won"}]},
        "workflow_blocks": [{"$kind": "Action", "id": "action_1", "type": "send_channel_message",
                             "input": SLACK_MESSAGE}],
        "max_triggers_per_day": 50, "enabled": True,
    }


def test_single_rule_accepts_camel_case_keys():
    body = {"name": "Won deals", "conditionEntity": "deal", "conditionField": "status",
            "conditionOperator": "changed_to", "conditionValue": "won",
            "actionType": "send_channel_message", "actionConfig": SLACK_MESSAGE,
            "maxTriggersPerDay": 50, "isActive": True}
    assert canonical(body) == canonical(rule())


def test_empty_value_is_left_out_for_unary_operators():
    result = canonical(rule(condition_operator="changed", condition_value=""))
    assert result["trigger_configuration"]["conditions"] == [{"field": "status", "operator": "changed"}]
    kept = canonical(rule(condition_operator="equals", condition_value=""))
    assert kept["trigger_configuration"]["conditions"][0]["value"] == ""


def test_single_rule_aliases_map_the_action_type():
    result = canonical(rule(action_type="email", action_config={"to": ["a@example.com"], "subject": "Won"}))
    assert result["workflow_blocks"][0]["type"] == "send_email"


def test_an_entity_with_a_dot_is_the_event_name():
    assert canonical(rule(condition_entity="deal.updated"))["trigger_configuration"]["event"] == "deal.updated"


def test_missing_condition_value_is_an_error_with_its_path():
    body = rule()
    del body["condition_value"]
    assert paths(body) == ["condition_value"]


def test_every_missing_rule_key_is_reported():
    assert paths({"name": "x", "condition_entity": "deal"}) == [
        "condition_field", "condition_operator", "condition_value", "action_type"]


def test_the_two_forms_cannot_be_mixed():
    assert paths(rule(actions=[{"type": "email"}])) == ["$"]


# --- trigger + ordered actions ----------------------------------------------------------

def email(order=None, to="a@example.com") -> dict:
    item = {"type": "email", "config": {"to": [to], "subject": "Alert"}}
    return item if order is None else {**item, "order": order}


def test_actions_are_sorted_by_order_stable_for_ties_and_unordered_last():
    actions = [email(to="unordered1@example.com"), email(2, "second-a@example.com"),
               email(1, "first@example.com"), email(to="unordered2@example.com"), email(2, "second-b@example.com")]
    body = {"name": "Sorted", "trigger": {"type": "request"}, "actions": actions}
    blocks = canonical(body)["workflow_blocks"]
    assert [(b["id"], b["input"]["to"][0]) for b in blocks] == [
        ("action_1", "first@example.com"), ("action_2", "second-a@example.com"),
        ("action_3", "second-b@example.com"), ("action_4", "unordered1@example.com"),
        ("action_5", "unordered2@example.com")]


def test_trigger_and_actions_with_camel_case_settings():
    body = {"name": "API down", "description": "page on 5xx", "isActive": False, "maxTriggersPerDay": 10,
            "publish": False, "workflowEditorState": {"nodes": []},
            "triggerConstraints": {"==": [{"var": "request.method"}, "POST"]},
            "trigger": {"type": "error"},
            "actions": [{"type": "slack", "config": {"message": "{{request.path}} failed"}, "order": 1,
                         "name": "Tell ops", "onError": "continue", "timeout": "10s"}]}
    result = canonical(body)
    assert result["enabled"] is False and result["max_triggers_per_day"] == 10 and result["publish"] is False
    assert result["workflow_editor_state"] == {"nodes": []}
    assert result["trigger_constraints"] == {"==": [{"var": "request.method"}, "POST"]}
    assert result["workflow_blocks"] == [{
        "$kind": "Action", "id": "action_1", "type": "send_channel_message", "name": "Tell ops",
        "input": {"message": "{{request.path}} failed", "channel": "slack"},
        "on_error": "continue", "timeout": "10s"}]


def test_slack_channel_names_become_the_recipient():
    body = {"name": "x", "trigger": {"type": "request"},
            "actions": [{"type": "slack", "config": {"channel": "#alerts", "message": "hi"}},
                        {"type": "slack", "config": {"channel": "teams", "message": "hi"}}]}
    inputs = [b["input"] for b in canonical(body)["workflow_blocks"]]
    assert inputs == [{"channel": "slack", "message": "hi", "recipient": "#alerts"},
                      {"channel": "teams", "message": "hi"}]


@pytest.mark.parametrize("config, expected", [
    ({"webhook_url": "https://cloud.activepieces.com/api/v1/webhooks/abc", "payload": {"path": "{{request.path}}"}},
     {"url": "https://cloud.activepieces.com/api/v1/webhooks/abc", "method": "POST",
      "body": {"path": "{{request.path}}"}}),
    ({"url": HOOK_URL, "body": {"a": 1}, "headers": {"X-Flow": "1"}},
     {"url": HOOK_URL, "method": "POST", "body": {"a": 1}, "headers": {"X-Flow": "1"}}),
    ({"webhookUrl": HOOK_URL, "method": "PUT"}, {"url": HOOK_URL, "method": "PUT"}),
])
def test_activepieces_becomes_a_webhook_post(config, expected):
    body = {"name": "x", "trigger": {"type": "request"}, "actions": [{"type": "activepieces", "config": config}]}
    block = canonical(body)["workflow_blocks"][0]
    assert (block["type"], block["input"]) == ("webhook", expected)


def test_activepieces_needs_one_url():
    body = {"name": "x", "trigger": {"type": "request"},
            "actions": [{"type": "activepieces", "config": {"payload": {}}},
                        {"type": "activepieces", "config": {"url": HOOK_URL, "webhook_url": HOOK_URL}}]}
    assert paths(body) == ["actions.0.config.webhook_url", "actions.1.config.url"]


def test_webhook_config_keeps_unknown_keys_for_validation_to_report():
    body = {"name": "x", "trigger": {"type": "request"},
            "actions": [{"type": "webhook", "config": {"url": HOOK_URL, "method": "PUT", "bogus": 1}}]}
    result = to_canonical(body)
    assert result["workflow_blocks"][0]["input"] == {"url": HOOK_URL, "method": "PUT", "bogus": 1}
    with pytest.raises(DefinitionInvalid) as caught:
        parse_definition(result)
    assert [p.path for p in caught.value.problems] == ["workflow_blocks.0.input.bogus"]


def test_canonical_action_types_are_accepted():
    body = {"name": "x", "trigger": {"type": "request"},
            "actions": [{"type": "update_field", "config": {"entity": "deal", "entity_id": 1, "field": "f"}}]}
    assert canonical(body)["workflow_blocks"][0]["type"] == "update_field"


def test_unknown_types_are_reported_with_their_paths():
    body = {"name": "x", "trigger": {"type": "cron"},
            "actions": [email(1), {"type": "sms", "config": {}}, email(2), {"config": {}}, "nope"]}
    assert paths(body) == ["trigger.type", "actions.1.type", "actions.3.type", "actions.4"]


def test_bad_order_and_unknown_keys_are_reported():
    body = {"name": "x", "trigger": {"type": "request", "schedule": "* * * * *"},
            "actions": [{**email(), "order": "first", "input": {}}]}
    assert paths(body) == ["trigger.schedule", "actions.0.input", "actions.0.order"]


def test_other_top_level_keys_pass_through_for_the_api_to_judge():
    body = {"name": "x", "rotate_webhook_token": False, "trigger": {"type": "request"}, "actions": [email()]}
    assert canonical(body)["rotate_webhook_token"] is False


def test_a_trigger_configuration_next_to_a_shorthand_trigger_is_refused():
    body = {"name": "x", "trigger": {"type": "request"}, "trigger_configuration": {}, "actions": [email()]}
    assert paths(body) == ["trigger_configuration"]


# --- request and error triggers ----------------------------------------------------------

def test_request_trigger_maps_path_glob_method_and_status_code():
    body = {"name": "Slow creates", "trigger": {"type": "request", "conditions": {
        "path": "/api/*", "method": "post", "statusCode": 201, "timings.duration": 12}},
        "actions": [email()]}
    result = canonical(body)
    assert result["trigger_type"] == "event"
    assert result["trigger_configuration"] == {"event": "api.request", "conditions": [
        {"field": "request.path", "operator": "matches", "value": "/api/*"},
        {"field": "request.method", "operator": "equals", "value": "POST"},
        {"field": "response.statusCode", "operator": "equals", "value": 201},
        {"field": "timings.duration", "operator": "equals", "value": 12}]}
    assert matches(result, api_request("POST", "/api/v1/users", 201))
    assert not matches(result, api_request("POST", "/health", 201))
    assert not matches(result, api_request("GET", "/api/v1/users", 201))


def test_a_path_without_a_star_is_an_exact_match():
    body = {"name": "x", "trigger": {"type": "request", "conditions": {"path": "/api/users"}}, "actions": [email()]}
    result = canonical(body)
    assert result["trigger_configuration"]["conditions"] == [
        {"field": "request.path", "operator": "equals", "value": "/api/users"}]
    assert matches(result, api_request(path="/api/users"))
    assert not matches(result, api_request(path="/api/users/7"))


def test_request_conditions_as_a_list_of_items():
    body = {"name": "x", "trigger": {"type": "request", "conditions": [
        {"key": "path", "value": "/v2/*"},
        {"field": "method", "operator": "in", "value": ["get", "head"]},
        {"field": "statusCode", "operator": "greater_or_equal", "value": 400},
        {"field": "request.headers.x-tenant", "operator": "exists"},
        {"any": [{"field": "timings.duration", "operator": "greater_than", "value": 1000}]}]},
        "actions": [email()]}
    result = canonical(body)
    assert result["trigger_configuration"]["conditions"] == [
        {"field": "request.path", "operator": "matches", "value": "/v2/*"},
        {"field": "request.method", "operator": "in", "value": ["GET", "HEAD"]},
        {"field": "response.statusCode", "operator": "greater_or_equal", "value": 400},
        {"field": "request.headers.x-tenant", "operator": "exists"},
        {"any": [{"field": "timings.duration", "operator": "greater_than", "value": 1000}]}]


def test_list_values_mean_any_of():
    body = {"name": "x", "trigger": {"type": "request", "conditions": {
        "method": ["get", "POST"], "path": ["/api/*", "/health"]}}, "actions": [email()]}
    result = canonical(body)
    assert result["trigger_configuration"]["conditions"][0] == {
        "field": "request.method", "operator": "in", "value": ["GET", "POST"]}
    assert matches(result, api_request("POST", "/api/x"))
    assert matches(result, api_request("GET", "/health"))
    assert not matches(result, api_request("GET", "/healthz"))


def test_a_list_condition_without_a_field_is_reported():
    body = {"name": "x", "trigger": {"type": "error", "conditions": [{"value": 1}, {"key": "a", "field": "b"}]},
            "actions": [email()]}
    assert paths(body) == ["trigger.conditions.0.field", "trigger.conditions.1.key"]


def test_error_trigger_means_status_500_or_more_by_default():
    body = {"name": "x", "trigger": {"type": "error", "conditions": {"path": "/api/*"}}, "actions": [email()]}
    result = canonical(body)
    assert result["trigger_configuration"]["conditions"] == [
        {"field": "response.statusCode", "operator": "greater_or_equal", "value": 500},
        {"field": "request.path", "operator": "matches", "value": "/api/*"}]
    assert matches(result, api_request(path="/api/x", status=502))
    assert not matches(result, api_request(path="/api/x", status=404))


def test_error_trigger_with_a_status_code_uses_it_instead():
    body = {"name": "x", "trigger": {"type": "error", "conditions": {"statusCode": 429}}, "actions": [email()]}
    result = canonical(body)
    assert result["trigger_configuration"]["conditions"] == [
        {"field": "response.statusCode", "operator": "equals", "value": 429}]
    assert matches(result, api_request(status=429))
    assert not matches(result, api_request(status=500))


# --- threshold and schedule triggers -----------------------------------------------------

def test_threshold_trigger_with_defaults():
    body = {"name": "x", "trigger": {"type": "threshold", "metric": "error_rate", "value": 5}, "actions": [email()]}
    result = canonical(body)
    assert (result["trigger_type"], result["trigger_configuration"]) == ("threshold", {
        "metric": "error_rate", "operator": "greater_than", "value": 5, "time_window": "5m", "aggregate": "avg"})


def test_threshold_trigger_aliases():
    body = {"name": "x", "trigger": {"type": "threshold", "metric": "latency_ms", "operator": "<=",
                                     "threshold": 200, "timeWindow": "15m", "aggregate": "max"},
            "actions": [email()]}
    assert canonical(body)["trigger_configuration"] == {
        "metric": "latency_ms", "operator": "less_or_equal", "value": 200, "time_window": "15m", "aggregate": "max"}


def test_threshold_trigger_needs_metric_and_value():
    body = {"name": "x", "trigger": {"type": "threshold"}, "actions": [email()]}
    assert paths(body) == ["trigger.metric", "trigger.value"]


def test_schedule_trigger_cron_defaults_to_utc():
    body = {"name": "x", "trigger": {"type": "schedule", "schedule": "0 9 * * MON-FRI"}, "actions": [email()]}
    result = canonical(body)
    assert (result["trigger_type"], result["trigger_configuration"]) == (
        "schedule", {"cron": "0 9 * * MON-FRI", "timezone": "UTC"})
    zoned = {**body, "trigger": {"type": "schedule", "cron": "0 9 * * *", "timezone": "Europe/Paris"}}
    assert canonical(zoned)["trigger_configuration"] == {"cron": "0 9 * * *", "timezone": "Europe/Paris"}


def test_schedule_trigger_interval():
    body = {"name": "x", "trigger": {"type": "schedule", "interval": "15m"}, "actions": [email()]}
    assert canonical(body)["trigger_configuration"] == {"interval": "15m"}


def test_schedule_trigger_needs_exactly_one_of_cron_and_interval():
    body = {"name": "x", "trigger": {"type": "schedule", "schedule": "* * * * *", "interval": "1m"},
            "actions": [email()]}
    assert paths(body) == ["trigger.schedule"]
    assert paths({**body, "trigger": {"type": "schedule"}}) == ["trigger.schedule"]


def test_missing_trigger_and_empty_actions_are_reported():
    assert paths({"name": "x", "actions": []}) == ["trigger", "actions"]


def test_the_input_is_not_changed():
    body = {"name": "x", "trigger": {"type": "error", "conditions": {"method": "get"}},
            "actions": [{"type": "slack", "config": {"channel": "#ops", "message": "m"}},
                        {"type": "activepieces", "config": {"webhook_url": HOOK_URL, "payload": {"a": 1}}}]}
    before = copy.deepcopy(body)
    result = canonical(body)
    assert body == before
    result["workflow_blocks"][1]["input"]["body"]["a"] = 2
    assert body == before
