"""POST /v1/hooks/{token}: the token authenticates, a secret demands a fresh signature, and the
request's body, headers and query reach the run as trigger.data."""

from __future__ import annotations

import json
import time

import httpx

from relay_common import signing
from tests.helpers.runs import wait_for_status


async def webhook_workflow(http: httpx.AsyncClient, name: str, **config) -> dict:
    created = await http.post("/v1/workflows", json={
        "name": name, "trigger_type": "webhook", "trigger_configuration": config, "workflow_blocks": []})
    assert created.status_code == 201, created.text
    return created.json()["data"]


async def test_a_hook_starts_a_run_with_body_headers_and_query_as_trigger_data(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http, httpx.AsyncClient(timeout=30) as outsider:
        workflow = await webhook_workflow(http, "inbound")
        answer = await outsider.post(workflow["webhook_url"], params={"source": "crm"},
                                     json={"deal": {"name": "Acme"}, "value": 7},
                                     headers={"X-Custom": "yes", "Authorization": "Bearer hidden", "Cookie": "s=1"})
        assert answer.status_code == 202, answer.text
        instance_id = answer.json()["data"]["instance_id"]
        run = await wait_for_status(http, instance_id, {"completed"})

        text = await outsider.post(workflow["webhook_url"], content=b"plain words", headers={"content-type": "text/plain"})
        text_run = await wait_for_status(http, text.json()["data"]["instance_id"], {"completed"})
    assert run["workflow_id"] == workflow["id"]
    trigger = run["trigger"]
    assert trigger["type"] == "webhook"
    data = trigger["data"]
    assert data["deal"] == {"name": "Acme"} and data["value"] == 7
    assert data["_request"]["method"] == "POST"
    assert data["_request"]["query"] == {"source": "crm"}
    headers = data["_request"]["headers"]
    assert headers["x-custom"] == "yes" and headers["content-type"] == "application/json"
    assert "authorization" not in headers and "cookie" not in headers
    assert text_run["trigger"]["data"]["body"] == "plain words"


async def test_a_secret_demands_a_fresh_valid_signature(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http, httpx.AsyncClient(timeout=30) as outsider:
        workflow = await webhook_workflow(http, "signed", secret="whsec_test")
        url = workflow["webhook_url"]
        body = json.dumps({"order": 42}).encode()
        now = int(time.time())

        async def post(signature: str | None) -> httpx.Response:
            headers = {"content-type": "application/json"}
            if signature is not None:
                headers["X-Relay-Signature"] = signature
            return await outsider.post(url, content=body, headers=headers)

        missing = await post(None)
        bad = await post(signing.sign("another secret", body, now))
        expired = await post(signing.sign("whsec_test", body, now - 301))
        other_body = await post(signing.sign("whsec_test", b'{"order": 43}', now))
        valid = await post(signing.sign("whsec_test", body, now))
        assert valid.status_code == 202, valid.text
        run = await wait_for_status(http, valid.json()["data"]["instance_id"], {"completed"})
    for refused in (missing, bad, expired, other_body):
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == {"code": "invalid_key", "message": "missing or bad signature"}
    assert run["trigger"]["data"]["order"] == 42
    assert "x-relay-signature" not in run["trigger"]["data"]["_request"]["headers"]


async def test_unknown_token_is_404_and_a_disabled_workflow_is_409(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http, httpx.AsyncClient(base_url=relay.url, timeout=30) as outsider:
        unknown = await outsider.post("/v1/hooks/not-a-real-token", json={})
        workflow = await webhook_workflow(http, "switched off")
        await http.patch(f"/v1/workflows/{workflow['id']}", json={"enabled": False})
        disabled = await outsider.post(workflow["webhook_url"], json={})
        manual = (await http.post("/v1/workflows", json={"name": "manual one", "workflow_blocks": []})).json()["data"]
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert disabled.status_code == 409 and disabled.json()["error"]["code"] == "workflow_disabled"
    assert manual["webhook_url"] is None


async def test_a_hook_arriving_at_depth_8_is_refused_as_a_loop(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http, httpx.AsyncClient(timeout=30) as outsider:
        workflow = await webhook_workflow(http, "loopy")
        looping = await outsider.post(workflow["webhook_url"], json={}, headers={"X-Relay-Depth": "8"})
        garbled = await outsider.post(workflow["webhook_url"], json={}, headers={"X-Relay-Depth": "many"})
        deep_but_fine = await outsider.post(workflow["webhook_url"], json={}, headers={"X-Relay-Depth": "7"})
        assert deep_but_fine.status_code == 202, deep_but_fine.text
        await wait_for_status(http, deep_but_fine.json()["data"]["instance_id"], {"completed"})
    assert looping.status_code == 400
    assert looping.json()["error"]["code"] == "validation_error" and "loop" in looping.json()["error"]["message"]
    assert garbled.status_code == 400


async def test_rotating_the_token_retires_the_old_url(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http, httpx.AsyncClient(timeout=30) as outsider:
        workflow = await webhook_workflow(http, "rotating")
        rotated = await http.patch(f"/v1/workflows/{workflow['id']}", json={"rotate_webhook_token": True})
        new_url = rotated.json()["data"]["webhook_url"]
        old = await outsider.post(workflow["webhook_url"], json={})
        new = await outsider.post(new_url, json={"hello": "again"})
        assert new.status_code == 202, new.text
        run = await wait_for_status(http, new.json()["data"]["instance_id"], {"completed"})
    assert new_url != workflow["webhook_url"]
    assert old.status_code == 404
    assert run["trigger"]["data"]["hello"] == "again"


async def test_an_idempotency_key_replays_the_first_answer_and_starts_one_run(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http, httpx.AsyncClient(timeout=30) as outsider:
        workflow = await webhook_workflow(http, "once only")
        first = await outsider.post(workflow["webhook_url"], json={"n": 1}, headers={"Idempotency-Key": "delivery-1"})
        again = await outsider.post(workflow["webhook_url"], json={"n": 1}, headers={"Idempotency-Key": "delivery-1"})
        assert first.status_code == 202, first.text
        await wait_for_status(http, first.json()["data"]["instance_id"], {"completed"})
        stats = (await http.get(f"/v1/workflows/{workflow['id']}")).json()["data"]["stats"]
    assert stats["total_runs"] == 1
    assert again.status_code == 202 and again.headers.get("idempotent-replayed") == "true"
    assert again.json()["data"]["instance_id"] == first.json()["data"]["instance_id"]
