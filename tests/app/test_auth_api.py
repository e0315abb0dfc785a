"""Keys, scopes and tenant isolation on the first endpoints; the envelope and request ids."""

from __future__ import annotations

from tests.helpers.runs import wait_for_status

SIMPLE = {"name": "simple", "workflow_blocks": [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "1h"}}]}


async def test_missing_unknown_and_underscoped_keys_are_refused(relay):
    _, reader = await relay.tenant(None, "read:workflows")
    async with relay.http() as anonymous:
        missing = await anonymous.get("/v1/workflows")
    async with relay.http("rly_not-a-real-key") as stranger:
        unknown = await stranger.get("/v1/workflows")
    async with relay.http(reader) as http:
        listed = await http.get("/v1/workflows")
        refused = await http.post("/v1/workflows", json=SIMPLE)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_key"
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "invalid_key"
    assert listed.status_code == 200
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_permissions"
    assert "write:workflows" in refused.json()["error"]["message"]


async def test_another_tenants_workflows_and_instances_are_not_found(relay):
    _, key_a = await relay.tenant()
    _, key_b = await relay.tenant()
    async with relay.http(key_a) as a, relay.http(key_b) as b:
        workflow_id = (await a.post("/v1/workflows", json=SIMPLE)).json()["data"]["id"]
        instance = (await a.post(f"/v1/workflows/{workflow_id}/trigger", json={})).json()["data"]
        await wait_for_status(a, instance["id"], {"running"})
        assert (await b.get(f"/v1/workflows/{workflow_id}")).status_code == 404
        assert (await b.post(f"/v1/workflows/{workflow_id}/trigger", json={})).status_code == 404
        assert (await b.get("/v1/workflows")).json()["meta"]["total"] == 0
        assert (await b.get(f"/v1/instances/{instance['id']}")).status_code == 404
        assert (await b.post(f"/v1/instances/{instance['id']}/cancel")).status_code == 404
        assert (await b.post(f"/v1/instances/{instance['id']}/events", json={"name": "x"})).status_code == 404
        raw = instance["temporal"]["workflow_id"]
        assert (await b.get(f"/v1/instances/{raw}")).status_code == 404
        mine = await a.get(f"/v1/instances/{instance['id']}")
        await a.post(f"/v1/instances/{instance['id']}/cancel")
    assert mine.status_code == 200 and mine.json()["data"]["status"] == "running"


async def test_every_response_has_a_request_id_and_errors_use_the_envelope(relay, admin_key):
    async with relay.http(admin_key) as http:
        echoed = await http.get("/v1/workflows", headers={"X-Request-ID": "abc-123"})
        missing = await http.get("/v1/workflows/wf_nope")
        bad_json = await http.post("/v1/workflows", content=b"{not json", headers={"content-type": "application/json"})
        unknown = await http.get("/v1/nothing-here")
    assert echoed.headers["x-request-id"] == "abc-123"
    assert echoed.json()["meta"]["request_id"] == "abc-123"
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "workflow not found"},
                              "meta": {"request_id": missing.headers["x-request-id"]}}
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "validation_error"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


async def test_workflow_read_list_and_stats(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        created = (await http.post("/v1/workflows", json={**SIMPLE, "name": "Counted", "workflow_editor_state": {"nodes": [1]}})).json()["data"]
        instance = (await http.post(f"/v1/workflows/{created['id']}/trigger", json={})).json()["data"]
        await http.post(f"/v1/instances/{instance['id']}/cancel")
        duplicate = await http.post("/v1/workflows", json={**SIMPLE, "name": "Counted"})
        detail = (await http.get(f"/v1/workflows/{created['id']}")).json()["data"]
        page = (await http.get("/v1/workflows", params={"q": "count", "limit": 1})).json()
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "duplicate_name"
    assert detail["version_number"] == 1 and detail["active_version"] == 1 and detail["latest_version"] == 1
    assert detail["workflow_editor_state"] == {"nodes": [1]}
    assert detail["stats"]["total_runs"] == 1 and detail["stats"]["success_count"] == 0
    assert detail["stats"]["last_run_at"] is not None
    assert page["meta"]["total"] == 1 and page["data"][0]["name"] == "Counted"


async def test_a_blank_authorization_header_leaves_x_api_key_in_charge(relay):
    """Some HTTP clients send `Authorization:` empty; seed 002's x-api-key must still authenticate."""
    _, reader = await relay.tenant(None, "read:workflows")
    async with relay.http() as http:
        blank = await http.get("/v1/workflows", headers={"Authorization": "", "x-api-key": reader})
        basic = await http.get("/v1/workflows", headers={"Authorization": "Basic Zm9vOmJhcg==", "x-api-key": reader})
    assert blank.status_code == 200, blank.text
    assert basic.status_code == 401  # a credential of another scheme is not ignored: Bearer or nothing
