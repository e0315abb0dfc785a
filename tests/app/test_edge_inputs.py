"""Inputs that used to answer 500 (or echo a secret) are refused with 400 validation_error, name the
offending field, and change nothing (found by a review of the API, 2026-11-26)."""

from __future__ import annotations

import json

DELAY = [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "1h"}}]
HUGE = 10**400  # JSON allows it; a float cannot hold it


def problem(response, path: str) -> dict:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error", error
    found = [d for d in error["details"] if d["path"] == path]
    assert found, error["details"]
    return found[0]


async def test_a_metric_value_too_large_for_a_float_is_refused(relay, admin_key):
    async with relay.http(admin_key) as http:
        response = await http.post("/v1/metrics", content=json.dumps({"metric": "m", "value": HUGE}),
                                   headers={"content-type": "application/json"})
    assert "finite number" in problem(response, "value")["message"]


async def test_max_triggers_per_day_past_a_32_bit_integer_is_refused_on_create_and_patch(relay, admin_key):
    async with relay.http(admin_key) as http:
        before = (await http.get("/v1/workflows")).json()["meta"]["total"]
        created = await http.post("/v1/workflows", json={"name": "big", "workflow_blocks": DELAY,
                                                         "max_triggers_per_day": 2**64})
        after = (await http.get("/v1/workflows")).json()["meta"]["total"]
        fine = await http.post("/v1/workflows", json={"name": "fine", "workflow_blocks": DELAY,
                                                      "max_triggers_per_day": 2**31 - 1})
        patched = await http.patch(f"/v1/workflows/{fine.json()['data']['id']}", json={"max_triggers_per_day": 2**31})
    assert "18446744073709551616" in problem(created, "max_triggers_per_day")["message"]
    assert after == before
    assert fine.status_code == 201, fine.text
    problem(patched, "max_triggers_per_day")


async def test_an_entity_id_longer_than_temporal_keeps_is_refused_before_anything_starts(relay, admin_key):
    async with relay.http(admin_key) as http:
        created = await http.post("/v1/workflows", json={"name": "entity", "workflow_blocks": DELAY})
        workflow_id = created.json()["data"]["id"]
        long_text = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"entity_id": "x" * 3000})
        long_number = await http.post(f"/v1/workflows/{workflow_id}/trigger", content=json.dumps({"entity_id": HUGE}),
                                      headers={"content-type": "application/json"})
        event = await http.post("/v1/events", json={"type": "deal.won", "entity_id": "x" * 3000})
        runs = len((await http.get("/v1/instances", params={"workflow_id": workflow_id})).json()["data"])
        ok = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"entity_id": "x" * 200})
    problem(long_text, "entity_id")
    problem(long_number, "entity_id")
    problem(event, "entity_id")
    assert runs == 0
    assert ok.status_code == 201, ok.text


async def test_a_secret_in_the_wrong_shape_is_not_echoed_in_the_error(relay, admin_key):
    canary = "sk_live_CANARY_4711"
    async with relay.http(admin_key) as http:
        response = await http.post("/v1/connections", json={"name": "s", "type": "secret", "secrets": canary})
    detail = problem(response, "secrets")
    assert canary not in response.text
    assert "not shown" in detail["message"]


async def test_a_secret_refused_by_the_strict_json_reader_is_not_echoed(relay, admin_key):
    """A lone surrogate or a non-finite number inside `secrets`: 400 at its path, without the value."""
    canary = "sk_live_CANARY_0815"
    head = '{"name": "s", "type": "secret", "secrets": {"key": '
    bodies = [head + '"' + canary + '\\ud800"}}', head + "1" + "0" * 400 + ".5e999}}"]
    async with relay.http(admin_key) as http:
        answers = [await http.post("/v1/connections", content=body, headers={"content-type": "application/json"})
                   for body in bodies]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert canary not in answer.text and "0000000000" not in answer.text
        detail = answer.json()["error"]["details"][0]
        assert detail["path"] == "secrets.key" and "not shown" in detail["message"]


async def test_a_webhook_signing_secret_refused_in_any_way_is_not_echoed(relay, admin_key):
    """The signing secret of a webhook trigger (trigger_configuration.secret) is write-only like a
    connection's secrets: a NUL, a lone surrogate or a wrong type in it is named by path, not shown."""
    from relay_common.secret_paths import is_secret_path

    canary = "whsec_CANARY_2718"
    head = '{"name": "signed", "trigger_type": "webhook", "workflow_blocks": [], "trigger_configuration": {"secret": '
    bodies = [head + '"' + canary + '\\u0000"}}', head + '"' + canary + '\\ud800"}}', head + '["' + canary + '"]}}']
    async with relay.http(admin_key) as http:
        answers = [await http.post("/v1/workflows", content=body, headers={"content-type": "application/json"})
                   for body in bodies]
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert canary not in answer.text, answer.text
        assert any(d["path"] == "trigger_configuration.secret" for d in answer.json()["error"]["details"])
    assert is_secret_path("body.secrets") and is_secret_path("trigger_configuration.secret")
    assert not is_secret_path("workflow_blocks.0.input.secret") and not is_secret_path("secret")
