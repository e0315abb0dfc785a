"""Seed 000 (CRM rules, ../shared/seeds/000_*.txt): its examples as written, through the real API,
the real Temporal dev server and real receivers (only the host, /v1, the key and receiver URLs change)."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from pathlib import Path

from tests.conftest import relay_settings, start_relay, wait_for_status
from tests.receivers import HttpReceiver, SmtpReceiver

# The cURL example's body, as written (the Python example sends the same dict).
CURL_BODY = {
    "name": "Ping owner on won deals",
    "condition_entity": "deal",
    "condition_field": "status",
    "condition_operator": "changed_to",
    "condition_value": "won",
    "action_type": "send_channel_message",
    "action_config": {
        "channel": "slack",
        "recipient": "#sales-wins",
        "message": "Deal {{deal.name}} closed at {{deal.value}} {{deal.currency}}",
    },
    "max_triggers_per_day": 50,
}
PYTHON_BODY = copy.deepcopy(CURL_BODY)
JS_BODY = {**copy.deepcopy(CURL_BODY), "action_config": {
    "channel": "slack", "recipient": "#sales-wins", "message": "Deal {{deal.name}} closed"}}

WON = {"type": "deal.updated", "entity": "deal", "entity_id": "42",
       "data": {"name": "Acme", "value": 5000, "currency": "USD", "status": "won", "stage_id": 4,
                "tags": ["vip", "eu"], "owner": "kim"},
       "previous": {"status": "open", "stage_id": 3, "owner": "kim"}}


async def wait_for_runs(http, instance_ids: list[str]) -> list[dict]:
    return list(await asyncio.gather(*(wait_for_status(http, i, {"completed", "failed"}) for i in instance_ids)))


async def test_the_documented_rule_posts_to_slack_when_a_deal_is_won(relay):
    _, key = await relay.tenant()
    _, other_key = await relay.tenant()
    async with HttpReceiver() as slack, relay.http(key) as http, relay.http(other_key) as other:
        for client in (http, other):
            connection = await client.post("/v1/connections", json={
                "name": "slack", "type": "slack", "default": True, "secrets": {"webhook_url": slack.url}})
            assert connection.status_code == 201, connection.text
        created = await http.post("/v1/workflows", json=CURL_BODY, headers={"Idempotency-Key": "c0ffee-1"})
        again = await http.post("/v1/workflows", json=CURL_BODY, headers={"Idempotency-Key": "c0ffee-1"})
        duplicate = await http.post("/v1/workflows", json=PYTHON_BODY)
        javascript = await other.post("/v1/workflows", json=JS_BODY)
        unchanged = await other.post("/v1/events", json={**WON, "previous": {"status": "won"}})
        fired = await http.post("/v1/events", json=WON)
        [run] = await wait_for_runs(http, fired.json()["data"]["instances"])
        js_fired = await other.post("/v1/events", json=WON)  # the JavaScript example's shorter message
        [js_run] = await wait_for_runs(other, js_fired.json()["data"]["instances"])
        fetched = (await http.get(f"/v1/workflows/{created.json()['data']['id']}")).json()["data"]

    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["id"].startswith("wf_") and data["name"] == "Ping owner on won deals"
    assert data["enabled"] is True and data["max_triggers_per_day"] == 50
    assert data["last_triggered_at"] is None and data["created_at"]
    assert data["trigger_type"] == "event"
    assert data["trigger_configuration"] == {
        "event": "deal.*", "conditions": [{"field": "status", "operator": "changed_to", "value": "won"}]}
    assert data["workflow_blocks"][0]["input"] == CURL_BODY["action_config"]
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Request-ID"):
        assert header in created.headers
    assert again.json()["data"]["id"] == data["id"]  # Idempotency-Key: the first answer again
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "duplicate_name"
    assert javascript.status_code == 201, javascript.text
    assert unchanged.json()["data"]["matched"] == []  # changed_to: the status was already won

    assert fired.json()["data"]["matched"] == [data["id"]]
    assert run["status"] == "completed", run
    assert run["trigger"]["entity"] == "deal" and run["trigger"]["entity_id"] == "42"
    message, js_message = slack.requests
    assert message.json() == {"text": "Deal Acme closed at 5000 USD", "channel": "#sales-wins"}
    assert js_fired.json()["data"]["matched"] == [javascript.json()["data"]["id"]] and js_run["status"] == "completed"
    assert js_message.json() == {"text": "Deal Acme closed", "channel": "#sales-wins"}
    assert fetched["last_triggered_at"] is not None or fetched["stats"]["total_runs"] >= 1


async def test_every_operator_and_entity_of_the_document(relay):
    """One event, a rule per operator that holds and one that does not: `matched` names exactly the first."""
    _, key = await relay.tenant()
    holds = {"equals": ("status", "won"), "not_equals": ("status", "lost"), "contains": ("tags", "vip"),
             "changed": ("stage_id", ""), "changed_to": ("status", "won"), "greater_than": ("value", "1000"),
             "less_than": ("value", "10000")}
    fails = {"equals": ("status", "lost"), "not_equals": ("status", "won"), "contains": ("tags", "gold"),
             "changed": ("owner", ""), "changed_to": ("status", "lost"), "greater_than": ("value", "9999"),
             "less_than": ("value", "100")}
    async with HttpReceiver() as hook, relay.http(key) as http:
        ids: dict[str, set[str]] = {"holds": set(), "fails": set()}
        for kind, rules in (("holds", holds), ("fails", fails)):
            for operator, (field, value) in rules.items():
                created = await http.post("/v1/workflows", json={
                    "name": f"{kind} {operator}", "condition_entity": "deal", "condition_field": field,
                    "condition_operator": operator, "condition_value": value, "action_type": "webhook",
                    "action_config": {"url": hook.url, "body": {"rule": operator, "deal": "{{deal.name}}"}}})
                assert created.status_code == 201, created.text
                ids[kind].add(created.json()["data"]["id"])
        entities = {}
        for entity in ("contact", "deal", "task", "email", "meeting"):
            created = await http.post("/v1/workflows", json={
                "name": f"on {entity}", "condition_entity": entity, "condition_field": "status",
                "condition_operator": "equals", "condition_value": "never", "action_type": "webhook",
                "action_config": {"url": hook.url}})
            entities[entity] = created.json()["data"]["trigger_configuration"]["event"]
        fired = await http.post("/v1/events", json=WON)
        runs = await wait_for_runs(http, fired.json()["data"]["instances"])

    assert set(fired.json()["data"]["matched"]) == ids["holds"]
    assert all(run["status"] == "completed" for run in runs)
    assert sorted(r.json()["rule"] for r in hook.requests) == sorted(holds)
    assert {r.json()["deal"] for r in hook.requests} == {"Acme"}
    assert entities == {entity: f"{entity}.*" for entity in entities}


async def test_every_action_type_and_the_entity_actions_act_on_the_trigger(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as hook, HttpReceiver() as slack, HttpReceiver() as connector, \
            SmtpReceiver() as smtp, relay.http(key) as http:
        for connection in (
                {"name": "mail", "type": "smtp", "default": True,
                 "config": {"host": smtp.host, "port": smtp.port, "from": "crm@acme.test"}},
                {"name": "slack", "type": "slack", "default": True, "secrets": {"webhook_url": slack.url}},
                {"name": "crm", "type": "connector", "default": True, "config": {"url": connector.url},
                 "secrets": {"signing_secret": "s3cret"}}):
            assert (await http.post("/v1/connections", json=connection)).status_code == 201
        configs = {
            "send_email": {"to": ["owner@acme.test"], "subject": "Won: {{deal.name}}",
                           "body": "{{deal.value}} {{deal.currency}}"},
            "create_task": {"title": "Kick-off with {{deal.name}}", "assignee": "kim@acme.test", "due_in": "2d"},
            "send_channel_message": CURL_BODY["action_config"],
            "webhook": {"url": f"{hook.url}/won", "body": {"deal": "{{deal.name}}"}},
            "update_field": {"field": "stage_id", "value": "onboarding"},
        }
        for action_type, config in configs.items():
            created = await http.post("/v1/workflows", json={
                **CURL_BODY, "name": f"won: {action_type}", "action_type": action_type, "action_config": config})
            assert created.status_code == 201, created.text
        fired = await http.post("/v1/events", json=WON)
        runs = await wait_for_runs(http, fired.json()["data"]["instances"])

    assert len(runs) == 5 and all(run["status"] == "completed" for run in runs), runs
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["owner@acme.test"] and mail.message["Subject"] == "Won: Acme"
    assert slack.requests[0].json()["text"] == "Deal Acme closed at 5000 USD"
    assert hook.requests[0].path == "/won" and hook.requests[0].json() == {"deal": "Acme"}
    calls = {r.json()["action"]: r.json()["input"] for r in connector.requests}
    assert calls["create_task"] == {"entity": "deal", "entity_id": "42", "title": "Kick-off with Acme",
                                    "assignee": "kim@acme.test", "due_in": "2d"}
    assert calls["update_field"] == {"entity": "deal", "entity_id": "42", "field": "stage_id", "value": "onboarding"}


async def test_the_error_table(relay, temporal_env, tmp_path):
    _, key = await relay.tenant()
    _, reader = await relay.tenant(None, "read:workflows")
    async with relay.http(key) as http:
        missing = await http.post("/v1/workflows", json={k: v for k, v in CURL_BODY.items() if k != "condition_field"})
        operator = await http.post("/v1/workflows", json={**CURL_BODY, "condition_operator": "between"})
        action = await http.post("/v1/workflows", json={**CURL_BODY, "action_type": "send_fax"})
    async with relay.http("wbk_your_api_key_here") as stranger:
        invalid = await stranger.post("/v1/workflows", json=CURL_BODY)
    async with relay.http(reader) as read_only:
        forbidden = await read_only.post("/v1/workflows", json=CURL_BODY)
    settings = relay_settings(f"sqlite:///{tmp_path / 'limited.db'}", temporal_env, rate_limit="2/minute")
    async for limited in start_relay(settings, temporal_env.client, with_worker=False):
        async with limited.http(await limited.key("limited", "admin")) as http:
            answers = [await http.post("/v1/workflows", json={**CURL_BODY, "name": f"rule {i}"}) for i in range(3)]

    assert missing.status_code == 400 and missing.json()["error"]["code"] == "validation_error"
    assert {d["path"] for d in missing.json()["error"]["details"]} == {"condition_field"}
    [detail] = operator.json()["error"]["details"]
    assert operator.status_code == 400 and "'between'" in detail["message"]
    assert action.status_code == 400 and "'send_fax'" in action.json()["error"]["details"][0]["message"]
    assert invalid.status_code == 401 and invalid.json()["error"]["code"] == "invalid_key"
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "insufficient_permissions"
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].json()["error"]["code"] == "rate_limited" and "Retry-After" in answers[2].headers


async def test_the_readme_first_run_is_this_seed_and_works(relay):
    """README's "First run": its three bodies (connection, seed 000's rule, the event), as printed there."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    first_run = readme.split("## First run", 1)[1].split("## Commands", 1)[0]
    connection, rule, event = [json.loads(body) for body in re.findall(r"-d '(\{.*?\})'", first_run, re.S)]
    assert rule == CURL_BODY
    _, key = await relay.tenant()
    async with HttpReceiver() as slack, relay.http(key) as http:
        connection["secrets"]["webhook_url"] = slack.url
        assert (await http.post("/v1/connections", json=connection)).status_code == 201
        assert (await http.post("/v1/workflows", json=rule)).status_code == 201
        fired = await http.post("/v1/events", json=event)
        [run] = await wait_for_runs(http, fired.json()["data"]["instances"])
    assert run["status"] == "completed"
    assert slack.requests[0].json() == {"text": "Deal Acme closed at 5000 USD", "channel": "#sales-wins"}
    assert '{"text": "Deal Acme closed at 5000 USD", "channel": "#sales-wins"}' in first_run


async def test_mistakes_in_the_rule_are_named_at_the_rules_own_fields(relay):
    """The rule's problems are reported at the fields the 000 body has (`condition_operator`,
    `action_config.message`, `condition_entity`), not at the canonical definition's paths."""
    _, key = await relay.tenant()
    no_message = {**CURL_BODY, "action_config": {"channel": "slack", "recipient": "#sales-wins", "mesage": "x"}}
    async with relay.http(key) as http:
        operator = await http.post("/v1/workflows", json={**CURL_BODY, "condition_operator": "between"})
        message = await http.post("/v1/workflows", json=no_message)
        entity = await http.post("/v1/workflows", json={**CURL_BODY, "condition_entity": "deal stage"})
        config = await http.post("/v1/workflows", json={**CURL_BODY, "action_config": "#sales-wins"})
    assert [d["path"] for d in operator.json()["error"]["details"]] == ["condition_operator"]
    assert [d["path"] for d in message.json()["error"]["details"]] == ["action_config.message",
                                                                      "action_config.mesage"]
    assert entity.status_code == 400, entity.text
    assert [d["path"] for d in entity.json()["error"]["details"]] == ["condition_entity"]
    assert "'deal stage'" in entity.json()["error"]["details"][0]["message"]
    assert config.status_code == 400 and "'#sales-wins'" in config.json()["error"]["details"][0]["message"]
