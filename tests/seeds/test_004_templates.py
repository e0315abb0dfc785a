"""Seed 004 (automation templates and instances, ../shared/seeds/004_*.txt): its example requests as
written (`/v1/automations…` included) through the real API, Temporal dev server and a real receiver."""

from __future__ import annotations

import asyncio

import httpx

from tests.receivers import HttpReceiver

SEED_TEMPLATE_ID = "tmpl_a1b2c3d4-1234-5678-9abc-def012345678"
SEED_INSTANCE_ID = "inst_f1e2d3c4-1234-5678-9abc-def012345678"
SEED_TRIGGER_BODY = """{
"entityType": "lead",
"entityId": "d290f1ee-6c54-4b01-90e6-d701748f0851"
}"""


def template(name: str, url: str) -> dict:
    """A template that tells the receiver what it was triggered for, then waits (so it can be cancelled)."""
    return {"name": name, "workflow_blocks": [
        {"$kind": "Action", "id": "welcome", "type": "webhook",
         "input": {"url": url, "body": {"entity": "{{trigger.entity}}", "id": "{{trigger.entity_id}}",
                                        "template": "{{workflow.id}}"}}},
        {"$kind": "Block", "type": "delay", "id": "later", "inputs": {"duration": "1h"}}]}


async def until_waiting(http: httpx.AsyncClient, instance_id: str) -> dict:
    for _ in range(300):
        run = (await http.get(f"/v1/instances/{instance_id}")).json()["data"]
        if run["current_step"] == "later":
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached the delay: {run}")


async def test_trigger_keeps_the_entity_and_defaults_to_api_trigger_then_cancel(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        workflow_id = (await http.post("/v1/workflows", json=template("New Lead Welcome Sequence", receiver.url))
                       ).json()["data"]["id"]
        seeded = await http.post(f"/v1/automations/{workflow_id}/trigger", content=SEED_TRIGGER_BODY,
                                 headers={"Content-Type": "application/json"})
        bare = await http.post(f"/v1/automations/{workflow_id}/trigger")
        runs = [await until_waiting(http, answer.json()["data"]["id"]) for answer in (seeded, bare)]
        cancelled = [await http.post(f"/v1/automations/{run['id']}/cancel") for run in runs]
        listed = await http.get("/v1/automations?limit=10")
        for _ in range(100):  # visibility counts the two runs within moments
            if listed.json()["data"][0]["stats"]["total_runs"] == 2:
                break
            await asyncio.sleep(0.1)
            listed = await http.get("/v1/automations?limit=10")

    assert seeded.status_code == 201 and bare.status_code == 201, (seeded.text, bare.text)
    assert seeded.json()["data"]["id"].startswith("inst_") and seeded.json()["data"]["status"] == "running"
    assert runs[0]["trigger"]["entity"] == "lead"
    assert runs[0]["trigger"]["entity_id"] == "d290f1ee-6c54-4b01-90e6-d701748f0851"
    assert runs[1]["trigger"]["entity"] == "api_trigger" and runs[1]["trigger"]["entity_id"] == workflow_id
    # two independent runs: their steps may reach the receiver in either order
    assert sorted((r.json() for r in receiver.requests), key=lambda body: body["entity"]) == [
        {"entity": "api_trigger", "id": workflow_id, "template": workflow_id},
        {"entity": "lead", "id": "d290f1ee-6c54-4b01-90e6-d701748f0851", "template": workflow_id}]
    assert [c.status_code for c in cancelled] == [200, 200]
    assert all(c.json()["data"]["status"] == "cancelled" for c in cancelled)
    [row] = listed.json()["data"]
    assert row["id"] == workflow_id and row["enabled"] is True
    assert row["stats"]["total_runs"] == 2 and row["stats"]["last_run_at"] is not None
    assert listed.json()["meta"] == {**listed.json()["meta"], "total": 1, "page": 1, "limit": 10, "has_more": False}


async def test_list_pages_like_the_document(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        for n in range(3):
            await http.post("/v1/workflows", json={"name": f"template {n}"})
        first = (await http.get("/v1/automations", params={"limit": 2})).json()
        last = (await http.get("/v1/automations", params={"page": 2, "limit": 2})).json()
    assert first["meta"]["total"] == 3 and first["meta"]["has_more"] is True and len(first["data"]) == 2
    assert last["meta"]["has_more"] is False and len(last["data"]) == 1


async def test_the_error_table(relay):
    _, key = await relay.tenant()
    _, reader = await relay.tenant(None, "read:workflows", "read:instances")
    async with relay.http(key) as http:
        workflow_id = (await http.post("/v1/workflows", json={"name": "t", "workflow_blocks": []})).json()["data"]["id"]
        unknown_template = await http.post(f"/v1/automations/{SEED_TEMPLATE_ID}/trigger", content=SEED_TRIGGER_BODY,
                                           headers={"Content-Type": "application/json"})
        unknown_instance = await http.post(f"/v1/automations/{SEED_INSTANCE_ID}/cancel")
        invalid = await http.post(f"/v1/automations/{workflow_id}/trigger", json={"entityType": 5})
        misspelt = await http.post(f"/v1/automations/{workflow_id}/trigger", json={"entityTyp": "lead"})
    async with relay.http(reader) as read_only:
        forbidden = await read_only.post(f"/v1/automations/{workflow_id}/trigger", content=SEED_TRIGGER_BODY,
                                         headers={"Content-Type": "application/json"})

    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "insufficient_permissions"
    assert unknown_template.status_code == 404 and unknown_template.json()["error"]["code"] == "not_found"
    assert unknown_instance.status_code == 404 and unknown_instance.json()["error"]["code"] == "not_found"
    # the document's 422 VALIDATION_ERROR is Relay's 400 validation_error (one code for every bad request)
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "validation_error"
    assert "5" in invalid.json()["error"]["details"][0]["message"]
    assert misspelt.status_code == 400
    assert misspelt.json()["error"]["details"] == [
        {"path": "entityTyp", "message": "unknown field 'entityTyp': no form of this request knows it"}]
