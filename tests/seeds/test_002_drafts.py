"""Seed 002 (drafts per linked account, ../shared/seeds/002_*.txt): its two cURL examples as written
(`x-api-key` + `linked_account_id`, and `Authorization: Bearer`), then built out, published and run."""

from __future__ import annotations

import httpx

from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver


def seed_client(relay, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=relay.url, headers={"Content-Type": "application/json", **headers}, timeout=30)


async def test_api_key_example_makes_a_draft_that_runs_once_built_and_published(relay):
    tenant_id, key = await relay.tenant()
    async with HttpReceiver() as receiver, seed_client(relay, {"x-api-key": key, "linked_account_id": tenant_id}) as http:
        # the document's path, /api/v2/public/workflow, with Relay's /v1 prefix
        created = await http.post("/v1/public/workflow", content='{ "name": "Lead Sync", "slug": "hubspot" }',
                                  headers={"Idempotency-Key": "lead-sync-1"})
        replayed = await http.post("/v1/public/workflow", content='{ "name": "Lead Sync", "slug": "hubspot" }',
                                   headers={"Idempotency-Key": "lead-sync-1"})
        listed = (await http.get("/v1/workflows")).json()["data"]
        workflow_id = created.json()["data"]["id"]
        too_early = await http.post(f"/v1/workflows/{workflow_id}/trigger")
        built = await http.patch(f"/v1/workflows/{workflow_id}", json={"publish": False, "workflow_blocks": [
            {"$kind": "Action", "id": "sync", "type": "webhook",
             "input": {"url": receiver.url, "body": {"lead": "{{trigger.data.email}}"}}}]})
        still_draft = (await http.get(f"/v1/workflows/{workflow_id}")).json()["data"]
        published = await http.post(f"/v1/workflows/{workflow_id}/publish", json={"version": 2})
        started = await http.post(f"/v1/workflows/{workflow_id}/trigger", json={"data": {"email": "a@b.test"}})
        run = await wait_for_status(http, started.json()["data"]["id"], {"completed", "failed"})

    assert created.status_code == 201, created.text
    draft = created.json()["data"]
    assert draft["name"] == "Lead Sync" and draft["workflow_blocks"] == []
    assert draft["version_number"] == 1 and draft["active_version"] is None  # a draft: nothing active
    assert replayed.status_code == 201 and replayed.json()["data"]["id"] == draft["id"]  # keyed by the x-api-key
    assert [w["id"] for w in listed] == [draft["id"]]  # the same workflow as POST /v1/workflows makes
    assert too_early.status_code == 400 and too_early.json()["error"]["code"] == "validation_error"
    assert built.status_code == 200, built.text
    assert still_draft["active_version"] is None and still_draft["latest_version"] == 2
    assert published.status_code == 200 and published.json()["data"]["active_version"] == 2
    assert run["status"] == "completed", run
    assert receiver.requests[0].json() == {"lead": "a@b.test"}


async def test_session_style_example_and_the_401_answer(relay):
    _, key = await relay.tenant()
    async with seed_client(relay, {"Authorization": f"Bearer {key}"}) as admin:  # the host's backend mints it
        minted = await admin.post("/v1/sessions", json={"scopes": ["write:workflows", "read:workflows"], "ttl": "15m"})
    assert minted.status_code == 201, minted.text
    async with seed_client(relay, {"Authorization": f"Bearer {minted.json()['data']['token']}"}) as http:
        created = await http.post("/v1/public/workflow", content='{ "name": "Lead Sync" }')
        unknown = await http.post("/v1/public/workflow", json={"name": "x", "team": "growth"})
    async with seed_client(relay, {"x-api-key": "YOUR_API_KEY", "linked_account_id": "YOUR_LINKED_ACCOUNT_ID"}) as bad:
        refused = await bad.post("/v1/public/workflow", content='{ "name": "Lead Sync", "slug": "hubspot" }')

    assert created.status_code == 201, created.text
    assert created.json()["data"]["active_version"] is None
    assert unknown.status_code == 400 and unknown.json()["error"]["details"][0]["path"] == "team", unknown.text
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_key"


async def test_linked_account_id_of_a_tenant_key(relay):
    """A tenant key may name its own tenant (by id or name) in linked_account_id; another one is 403."""
    tenant_id, key = await relay.tenant("linked-co")
    other_id, _ = await relay.tenant()
    answers = {}
    for named in (tenant_id, "linked-co", other_id):
        async with seed_client(relay, {"x-api-key": key, "linked_account_id": named}) as http:
            answers[named] = await http.get("/v1/workflows")

    assert answers[tenant_id].status_code == 200 and answers["linked-co"].status_code == 200
    forbidden = answers[other_id]
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "insufficient_permissions"
    assert other_id in forbidden.json()["error"]["message"]
