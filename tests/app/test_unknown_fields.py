"""No request field is silently dropped (SPEC §2.1) and names are one line (issue 13, finding 7):
a field that no form knows is a 400 validation_error naming it, on every endpoint that takes a body;
the seeds' own fields stay accepted; every validation message names the value it refused."""

from __future__ import annotations

import pytest

MANUAL = {"name": "plain", "workflow_blocks": []}


@pytest.fixture
async def http(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as client:
        yield client


def unknown_field(response, path: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(d["path"] == path and repr(path.rsplit(".", 1)[-1]) in d["message"] for d in error["details"]), error


async def test_unknown_fields_are_refused_on_every_workflow_body(http):
    unknown_field(await http.post("/v1/workflows", json={**MANUAL, "bogus": 1}), "bogus")
    unknown_field(await http.post("/v1/workflows", json={
        "name": "rule", "condition_entity": "deal", "condition_field": "status", "condition_operator": "equals",
        "condition_value": "won", "action_type": "webhook", "action_config": {"url": "https://example.com"},
        "bogus": 1}), "bogus")
    unknown_field(await http.post("/v1/workflows", json={
        "name": "list", "trigger": {"type": "request"}, "isActive": True, "bogus": 1,
        "actions": [{"type": "webhook", "config": {"url": "https://example.com"}}]}), "bogus")
    created = await http.post("/v1/workflows", json=MANUAL)
    workflow_id = created.json()["data"]["id"]
    unknown_field(await http.patch(f"/v1/workflows/{workflow_id}", json={"enabled": False, "bogus": 1}), "bogus")
    unknown_field(await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"bogus": 1}), "bogus")
    unknown_field(await http.post(f"/v1/workflows/{workflow_id}/test", json={"bogus": 1}), "bogus")
    unknown_field(await http.post(f"/v1/workflows/{workflow_id}/publish", json={"version": 1, "bogus": 1}), "bogus")
    assert (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]["enabled"] is True  # nothing changed


async def test_unknown_fields_are_refused_on_the_other_bodies(http):
    unknown_field(await http.post("/v1/events", json={"type": "deal.updated", "bogus": 1}), "bogus")
    unknown_field(await http.post("/v1/metrics", json={"metric": "m", "value": 1, "bogus": 1}), "bogus")
    unknown_field(await http.post("/v1/connections", json={"name": "c", "type": "secret",
                                                           "secrets": {"value": "x"}, "bogus": 1}), "bogus")
    unknown_field(await http.post("/v1/keys", json={"scopes": ["admin"], "bogus": 1}), "bogus")
    unknown_field(await http.post("/v1/instances/inst_x/events", json={"name": "approved", "bogus": 1}), "bogus")
    unknown_field(await http.post("/v1/instances/inst_x/retry", json={"bogus": 1}), "bogus")


async def test_the_seeds_fields_stay_accepted(http):
    """Fields the five seed documents send (besides the trigger mappings of seeds 001 and 003)."""
    answers = [
        await http.post("/v1/workflows", json={  # seed 001's canonical body
            "name": "block graph", "description": "d", "trigger_type": "manual", "workflow_blocks": [],
            "trigger_configuration": {}, "trigger_constraints": {"==": [1, 1]},
            "workflow_editor_state": {"nodes": [], "edges": [], "viewport": {}}}),
        await http.post("/v1/workflows", json={  # seed 003's list form with camelCase isActive
            "name": "traffic", "description": "d", "isActive": True,
            "trigger": {"type": "schedule", "schedule": "0 9 * * MON-FRI"},
            "actions": [{"type": "webhook", "config": {"url": "https://api.example.com/webhook", "method": "POST",
                                                       "headers": {"Authorization": "Bearer token"}}, "order": 1}]}),
        await http.post("/v1/workflows", json={"name": "Lead Sync", "slug": "hubspot"}),  # seed 002
        await http.post("/v1/workflows", json={"name": "Lead Sync 2", "associated_application": "app_1"}),
        await http.post("/v1/workflows", json={  # seed 000's single rule with its settings
            "name": "rule", "condition_entity": "deal", "condition_field": "status", "condition_operator": "changed",
            "condition_value": "", "action_type": "update_field", "action_config": {"field": "x", "value": 1},
            "max_triggers_per_day": 5, "enabled": False}),
    ]
    assert [a.status_code for a in answers] == [201] * 5, [a.text for a in answers]
    workflow_id = answers[0].json()["data"]["id"]
    camel = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"entityType": "lead", "entityId": 7})
    assert camel.status_code == 201, camel.text  # seed 004's camelCase trigger body
    assert camel.json()["data"]["trigger"]["entity_id"] == "7"


@pytest.mark.parametrize("name", ["nul\x00name", "two\r\nlines", "line\nfeed", "tab\there", "del\x7f"])
async def test_control_characters_in_names_are_refused(http, name):
    created = await http.post("/v1/workflows", json={**MANUAL, "name": name})
    assert created.status_code == 400 and created.json()["error"]["details"][0]["path"] == "name"
    assert repr(name) in created.json()["error"]["details"][0]["message"]
    workflow_id = (await http.post("/v1/workflows", json={**MANUAL, "name": f"ok {name!r}"})
                   ).json()["data"]["id"]
    renamed = await http.patch(f"/v1/workflows/{workflow_id}", json={"name": name})
    assert renamed.status_code == 400 and repr(name) in renamed.json()["error"]["details"][0]["message"]
    block = await http.post("/v1/workflows", json={"name": "block names", "workflow_blocks": [
        {"$kind": "Block", "type": "stop", "id": "s", "name": name}]})
    assert block.status_code == 400 and block.json()["error"]["details"][0]["path"] == "workflow_blocks.0.name"
    connection = await http.post("/v1/connections", json={"name": name, "type": "secret", "secrets": {"value": "x"}})
    key = await http.post("/v1/keys", json={"name": name, "scopes": ["admin"]})
    assert connection.status_code == 400 and key.status_code == 400


async def test_validation_messages_name_the_refused_value(http):
    teleport = await http.post("/v1/workflows", json={"name": "t", "workflow_blocks": [
        {"$kind": "Teleport", "id": "a"}]})
    long_url = "ftp://" + "x" * 500
    url = await http.post("/v1/workflows", json={"name": "u", "workflow_blocks": [
        {"$kind": "Action", "id": "a", "type": "webhook", "input": {"url": long_url}}]})
    wrong_type = await http.post("/v1/workflows", json={**MANUAL, "enabled": "yes"})
    bad_event = await http.post("/v1/events", json={"type": "deal updated"})

    [detail] = teleport.json()["error"]["details"]
    assert detail["path"] == "workflow_blocks.0" and "'Teleport'" in detail["message"]
    [detail] = url.json()["error"]["details"]
    assert "'ftp://xxx" in detail["message"] and len(detail["message"]) < 200  # shortened
    assert "'yes'" in wrong_type.json()["error"]["details"][0]["message"]
    assert "'deal updated'" in bad_event.json()["error"]["details"][0]["message"]


async def test_a_wait_for_event_payload_is_usable_in_its_received_branch(http):
    blocks = [{"$kind": "Block", "type": "wait_for_event", "id": "approval", "inputs": {"event": "approved"},
               "branches": {"received": [{"$kind": "Action", "id": "tell", "type": "webhook",
                                          "input": {"url": "https://example.com", "body": "{{approval.output.by}}"}}],
                            "timeout": [{"$kind": "Action", "id": "late", "type": "webhook",
                                         "input": {"url": "https://example.com", "body": "{{approval.output.by}}"}}]}}]
    created = await http.post("/v1/workflows", json={"name": "approvals", "workflow_blocks": blocks})
    assert created.status_code == 400
    # the timeout branch has no payload: only that reference is refused
    assert [d["path"] for d in created.json()["error"]["details"]] == [
        "workflow_blocks.0.branches.timeout.0.input.body"]
    blocks[0]["branches"]["timeout"] = []
    assert (await http.post("/v1/workflows", json={"name": "approvals", "workflow_blocks": blocks})).status_code == 201
