"""The shorthand examples of SPEC §2.1 become canonical definitions and run as they say."""

from __future__ import annotations

import asyncio

from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver


async def settle(http, instance_ids: list[str]) -> list[dict]:
    return [await wait_for_status(http, i, {"completed", "failed"}) for i in instance_ids]


async def test_single_rule_fires_on_changed_to_only(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as slack, relay.http(key) as http:
        created = await http.post("/v1/workflows", json={
            "name": "Ping owner on won deals", "condition_entity": "deal", "condition_field": "status",
            "condition_operator": "changed_to", "condition_value": "won",
            "action_type": "send_channel_message",
            "action_config": {"channel": "slack", "webhook_url": slack.url, "recipient": "#sales-wins",
                              "message": "Deal {{deal.name}} closed at {{deal.value}} {{deal.currency}}"},
            "max_triggers_per_day": 50, "enabled": True})
        assert created.status_code == 201, created.text
        workflow = created.json()["data"]
        won = await http.post("/v1/events", json={"type": "deal.updated", "entity": "deal", "entity_id": "7",
                                                   "data": {"name": "Acme", "value": 75000, "currency": "EUR", "status": "won"},
                                                   "previous": {"status": "open"}})
        again = await http.post("/v1/events", json={"type": "deal.updated", "entity": "deal",
                                                     "data": {"name": "Acme", "status": "won"}, "previous": {"status": "won"}})
        await settle(http, won.json()["data"]["instances"])
    assert workflow["trigger_type"] == "event"
    assert workflow["trigger_configuration"] == {
        "event": "deal.*", "conditions": [{"field": "status", "operator": "changed_to", "value": "won"}]}
    assert [b["type"] for b in workflow["workflow_blocks"]] == ["send_channel_message"]
    assert workflow["max_triggers_per_day"] == 50
    assert won.json()["data"]["matched"] == [workflow["id"]] and len(won.json()["data"]["instances"]) == 1
    assert again.json()["data"]["matched"] == [] and again.json()["data"]["instances"] == []
    [message] = slack.requests
    assert message.json()["text"] == "Deal Acme closed at 75000 EUR" and message.json()["channel"] == "#sales-wins"


async def test_ordered_actions_on_a_request_trigger_run_in_order(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        created = await http.post("/v1/workflows", json={
            "name": "New users", "description": "tell everyone",
            "trigger": {"type": "request", "conditions": {"path": "/api/users*", "method": "post", "statusCode": 201}},
            "actions": [
                {"type": "webhook", "config": {"url": receiver.url, "body": {"step": "second", "path": "{{request.path}}"}}, "order": 2},
                {"type": "slack", "config": {"webhook_url": receiver.url, "message": "first {{response.statusCode}}"}, "order": 1},
                {"type": "activepieces", "config": {"webhook_url": receiver.url, "payload": {"step": "third"}}, "order": 3},
            ],
            "isActive": True})
        assert created.status_code == 201, created.text
        workflow = created.json()["data"]

        def request_event(path: str, method: str, status: int) -> dict:
            return {"type": "api.request", "data": {"request": {"method": method, "path": path, "headers": {}, "query": {}, "body": None},
                                                    "response": {"statusCode": status, "headers": {}, "body": None, "size": 0},
                                                    "timings": {"duration": 12, "responseTime": 10}}}

        hit = await http.post("/v1/events", json=request_event("/api/users/42", "POST", 201))
        misses = await asyncio.gather(
            http.post("/v1/events", json=request_event("/api/orders", "POST", 201)),
            http.post("/v1/events", json=request_event("/api/users", "GET", 201)),
            http.post("/v1/events", json=request_event("/api/users", "POST", 500)))
        [done] = await settle(http, hit.json()["data"]["instances"])
    assert [b["type"] for b in workflow["workflow_blocks"]] == ["send_channel_message", "webhook", "webhook"]
    assert workflow["trigger_type"] == "event" and workflow["trigger_configuration"]["event"] == "api.request"
    assert done["status"] == "completed"
    assert [m.json().get("step", m.json().get("text")) for m in receiver.requests] == ["first 201", "second", "third"]
    assert receiver.requests[1].json()["path"] == "/api/users/42"
    assert all(m.json()["data"]["instances"] == [] for m in misses)


async def test_error_threshold_and_schedule_shorthands_are_canonical(relay):
    _, key = await relay.tenant()
    action = [{"type": "email", "config": {"to": ["ops@example.com"], "subject": "alert", "body": "x"}}]
    async with relay.http(key) as http:
        error = (await http.post("/v1/workflows", json={"name": "errors", "trigger": {"type": "error", "conditions": {"path": "/api/*"}},
                                                        "actions": action})).json()["data"]
        threshold = (await http.post("/v1/workflows", json={"name": "rate", "trigger": {
            "type": "threshold", "metric": "error_rate", "value": 5}, "actions": action})).json()["data"]
        schedule = (await http.post("/v1/workflows", json={"name": "daily", "trigger": {
            "type": "schedule", "schedule": "0 9 * * MON-FRI"}, "actions": action, "isActive": False})).json()["data"]
        bad = await http.post("/v1/workflows", json={"name": "bad", "trigger": {"type": "sometimes"}, "actions": action})
    assert {"field": "response.statusCode", "operator": "greater_or_equal", "value": 500} in error["trigger_configuration"]["conditions"]
    assert {"field": "request.path", "operator": "matches", "value": "/api/*"} in error["trigger_configuration"]["conditions"]
    assert threshold["trigger_type"] == "threshold" and threshold["trigger_configuration"]["aggregate"] == "avg"
    assert threshold["trigger_configuration"]["time_window"] == "5m"
    assert schedule["trigger_type"] == "schedule" and schedule["trigger_configuration"]["cron"] == "0 9 * * MON-FRI"
    assert schedule["enabled"] is False and error["workflow_blocks"][0]["type"] == "send_email"
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["path"] == "trigger.type"
