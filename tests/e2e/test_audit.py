"""SPEC §3.3 audit log: GET /v1/audit lists each action of the tenant, newest first, with its actor
(key, session, platform), resource and request id; a refused change records nothing; no secret,
key or token ever appears in it."""

from __future__ import annotations

import json

from tests.conftest import wait_for_status
from tests.e2e.quota_helpers import SLOW
from tests.receivers import HttpReceiver

CANARY = "canary-secret-7f3c1d"


async def test_every_action_is_audited_with_its_actor_and_never_a_secret(relay):
    tenant_id, key = await relay.tenant()
    platform = await relay.platform_key()
    actions: list[tuple[str, str, str]] = []  # (action, resource type, request id), oldest first
    async with HttpReceiver() as receiver, relay.http(key) as http, relay.http(platform) as host:
        def did(answer, action: str, resource: str) -> dict:
            assert answer.status_code < 300, answer.text
            actions.append((action, resource, answer.headers["x-request-id"]))
            return answer.json()["data"]

        acting = {"Relay-Tenant": tenant_id}
        did(await host.patch(f"/v1/tenants/{tenant_id}", json={"quotas": {"max_workflows": 50}}), "tenant.updated", "tenant")
        minted = did(await http.post("/v1/sessions", json={
            "scopes": ["write:instances", "read:instances"], "subject": "user-42"}), "session.created", "session")
        workflow = did(await http.post("/v1/workflows", json={"name": "audited", **SLOW}), "workflow.created", "workflow")
        did(await http.patch(f"/v1/workflows/{workflow['id']}", json={"name": "audited 2"}), "workflow.updated", "workflow")
        did(await http.post(f"/v1/workflows/{workflow['id']}/publish", json={}), "workflow.published", "workflow")
        connection = did(await http.post("/v1/connections", json={
            "name": "vault", "type": "secret", "secrets": {"value": CANARY}}), "connection.created", "connection")
        made = did(await http.post("/v1/keys", json={"name": "ci", "scopes": ["read:workflows"]}), "key.created", "key")
        did(await http.delete(f"/v1/keys/{made['id']}"), "key.deleted", "key")
        did(await host.delete(f"/v1/connections/{connection['id']}", headers=acting), "connection.deleted", "connection")
        instance = (await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]
        async with relay.http(minted["token"]) as browser:
            did(await browser.post(f"/v1/instances/{instance['id']}/cancel"), "instance.cancelled", "instance")
        failing = (await http.post("/v1/workflows", json={"name": "fails", "workflow_blocks": [
            {"$kind": "Action", "id": "call", "type": "webhook", "input": {"url": receiver.url, "body": {}}}]})).json()["data"]
        actions.append(("workflow.created", "workflow", ""))
        receiver.respond(400, {"error": "no"})
        failed = (await http.post(f"/v1/workflows/{failing['id']}/trigger", json={})).json()["data"]
        await wait_for_status(http, failed["id"], {"failed"})
        did(await http.post(f"/v1/instances/{failed['id']}/retry", json={}), "instance.retried", "instance")
        did(await http.delete(f"/v1/workflows/{failing['id']}"), "workflow.deleted", "workflow")
        did(await host.delete(f"/v1/sessions/{minted['id']}"), "session.deleted", "session")
        # refused changes record nothing
        duplicate = await http.post("/v1/workflows", json={"name": "audited 2", **SLOW})
        unknown_key = await http.delete("/v1/keys/key_nope")
        entries = (await http.get("/v1/audit", params={"limit": 100})).json()
        first_page = (await http.get("/v1/audit", params={"limit": 2})).json()
        _, reader = await relay.tenant(None, "read:workflows")
        _, other_admin = await relay.tenant()
        async with relay.http(reader) as read_only, relay.http(other_admin) as other:
            forbidden = await read_only.get("/v1/audit")
            elsewhere = (await other.get("/v1/audit")).json()

    assert duplicate.status_code == 409 and unknown_key.status_code == 404
    listed = entries["data"]
    assert [(e["action"], e["resource"]["type"]) for e in listed] == [(a, r) for a, r, _ in reversed(actions)]
    by_action = {e["action"]: e for e in listed}
    assert set(by_action) == {a for a, _, _ in actions} and len(by_action) == 13
    assert by_action["workflow.updated"]["resource"]["id"] == workflow["id"]
    assert by_action["key.created"]["resource"]["id"] == made["id"]
    assert by_action["instance.retried"]["resource"]["id"] == failed["id"]
    for entry, (_, _, request_id) in zip(listed, reversed(actions)):
        assert set(entry) == {"id", "at", "actor", "action", "resource", "request_id"}
        if request_id:
            assert entry["request_id"] == request_id
    assert by_action["tenant.updated"]["actor"]["type"] == "platform"
    assert by_action["tenant.updated"]["resource"] == {"type": "tenant", "id": tenant_id}
    assert by_action["connection.deleted"]["actor"]["type"] == "platform"
    assert by_action["instance.cancelled"]["actor"] == {"type": "session", "id": minted["id"], "subject": "user-42"}
    assert by_action["workflow.created"]["actor"]["type"] == "key"
    assert entries["meta"]["total"] == len(actions) and entries["meta"]["page"] == 1
    assert first_page["meta"]["has_more"] is True and first_page["data"] == listed[:2]
    assert forbidden.status_code == 403
    assert elsewhere["data"] == []
    text = json.dumps(entries)
    for secret in (CANARY, minted["token"], made["key"], platform, key):
        assert secret not in text
