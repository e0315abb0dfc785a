"""Versions, drafts, publish and rollback, PATCH and DELETE; runs keep the version they started on."""

from __future__ import annotations

from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver


def blocks(url: str, label: str, delay: str = "0s") -> list[dict]:
    return [
        {"$kind": "Block", "type": "delay", "id": "wait", "inputs": {"duration": delay}},
        {"$kind": "Action", "id": "say", "type": "webhook", "input": {"url": url, "body": {"version": label}}},
    ]


async def test_a_running_version_keeps_its_blocks_and_publish_rolls_back(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        created = (await http.post("/v1/workflows", json={
            "name": "versioned", "workflow_blocks": blocks(receiver.url, "v1", "{{trigger.data.pause}}")})).json()["data"]
        workflow_id = created["id"]
        slow = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"data": {"pause": "2s"}})).json()["data"]
        assert slow["workflow_version"] == 1

        patched = await http.patch(f"/v1/workflows/{workflow_id}", json={"workflow_blocks": blocks(receiver.url, "v2", "{{trigger.data.pause}}")})
        assert patched.status_code == 200, patched.text
        assert patched.json()["data"]["active_version"] == 2 and patched.json()["data"]["latest_version"] == 2
        fast = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"data": {"pause": "0s"}})).json()["data"]
        assert fast["workflow_version"] == 2
        done_fast = await wait_for_status(http, fast["id"], {"completed"})
        done_slow = await wait_for_status(http, slow["id"], {"completed"})

        rolled = await http.post(f"/v1/workflows/{workflow_id}/publish", json={"version": 1})
        assert rolled.json()["data"]["active_version"] == 1
        back = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"data": {"pause": "0s"}})).json()["data"]
        await wait_for_status(http, back["id"], {"completed"})
        chosen = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"version": 2, "data": {"pause": "0s"}})).json()["data"]
        await wait_for_status(http, chosen["id"], {"completed"})
    assert done_slow["workflow_version"] == 1 and done_fast["workflow_version"] == 2
    sent = {r.headers["idempotency-key"].split(":")[0]: r.json()["version"] for r in receiver.requests}
    assert sent == {slow["id"]: "v1", fast["id"]: "v2", back["id"]: "v1", chosen["id"]: "v2"}


async def test_drafts_settings_versions_and_delete(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        body = {"name": "drafty", "description": "one", "workflow_blocks": blocks("https://example.com/a", "v1"),
                "workflow_editor_state": {"nodes": ["v1"]}}
        workflow_id = (await http.post("/v1/workflows", json=body)).json()["data"]["id"]
        draft = await http.patch(f"/v1/workflows/{workflow_id}", json={
            "workflow_blocks": blocks("https://example.com/b", "v2"), "publish": False,
            "workflow_editor_state": {"nodes": ["v2"]}})
        settings_only = await http.patch(f"/v1/workflows/{workflow_id}", json={
            "name": "renamed", "description": "two", "max_triggers_per_day": 7, "enabled": False})
        detail = (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]
        versions = (await http.get(f"/v1/workflows/{workflow_id}/versions")).json()["data"]
        second = (await http.get(f"/v1/workflows/{workflow_id}/versions/2")).json()["data"]
        missing = await http.get(f"/v1/workflows/{workflow_id}/versions/9")
        disabled = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={})
        published = (await http.post(f"/v1/workflows/{workflow_id}/publish", json={})).json()["data"]
        invalid = await http.patch(f"/v1/workflows/{workflow_id}", json={"workflow_blocks": [{"$kind": "Nope"}]})
        after_invalid = (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]
        deleted = await http.delete(f"/v1/workflows/{workflow_id}")
        gone = await http.get(f"/v1/workflows/{workflow_id}")
    assert draft.json()["data"]["active_version"] == 1 and draft.json()["data"]["latest_version"] == 2
    assert settings_only.json()["data"]["latest_version"] == 2  # no new version for settings
    assert detail["name"] == "renamed" and detail["description"] == "two" and detail["max_triggers_per_day"] == 7
    assert detail["enabled"] is False and detail["workflow_blocks"][1]["input"]["url"] == "https://example.com/a"
    assert [(v["version_number"], v["active"], v["published_at"] is not None) for v in versions] == [
        (1, True, True), (2, False, False)]
    assert second["workflow_editor_state"] == {"nodes": ["v2"]}
    assert second["definition"]["workflow_blocks"][1]["input"]["url"] == "https://example.com/b"
    assert missing.status_code == 404
    assert disabled.status_code == 409 and disabled.json()["error"]["code"] == "workflow_disabled"
    assert published["active_version"] == 2 and published["workflow_editor_state"] == {"nodes": ["v2"]}
    assert invalid.status_code == 400 and after_invalid["latest_version"] == 2
    assert deleted.status_code == 200 and gone.status_code == 404


async def test_a_deleted_workflow_leaves_its_runs_running(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        workflow_id = (await http.post("/v1/workflows", json={
            "name": "doomed", "workflow_blocks": blocks(receiver.url, "v1", "1s")})).json()["data"]["id"]
        instance = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={})).json()["data"]
        assert (await http.delete(f"/v1/workflows/{workflow_id}")).status_code == 200
        done = await wait_for_status(http, instance["id"], {"completed", "failed"})
    assert done["status"] == "completed" and receiver.requests[0].json() == {"version": "v1"}


async def test_camel_case_aliases_are_accepted(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        created = await http.post("/v1/workflows", json={
            "name": "camel", "triggerType": "manual", "workflowBlocks": blocks("https://example.com", "x"),
            "isActive": False, "maxTriggersPerDay": 3, "workflowEditorState": {"a": 1}})
    data = created.json()["data"]
    assert created.status_code == 201, created.text
    assert data["enabled"] is False and data["max_triggers_per_day"] == 3 and data["workflow_editor_state"] == {"a": 1}


async def test_a_webhook_secret_is_write_only_and_survives_a_patch_without_it(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        created = (await http.post("/v1/workflows", json={
            "name": "signed", "trigger_type": "webhook", "trigger_configuration": {"secret": "whsec-canary"},
            "workflow_blocks": blocks("https://example.com", "v1")})).json()["data"]
        kept = (await http.patch(f"/v1/workflows/{created['id']}", json={
            "trigger_configuration": created["trigger_configuration"]})).json()["data"]
        removed = (await http.patch(f"/v1/workflows/{created['id']}", json={
            "trigger_configuration": {"secret": None}})).json()["data"]
        versions = await http.get(f"/v1/workflows/{created['id']}/versions")
    assert created["trigger_configuration"] == {} and created["webhook_secret_set"] is True
    assert kept["version_number"] == 2 and kept["webhook_secret_set"] is True
    assert removed["webhook_secret_set"] is False
    assert "whsec-canary" not in versions.text
