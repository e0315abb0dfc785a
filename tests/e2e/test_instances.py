"""Instances you can see into and steer: lists from Temporal visibility, timelines, retry, dry runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver

QUICK = [{"$kind": "Block", "type": "delay", "id": "d", "inputs": {"duration": "0s"}}]


async def list_all(http, **params) -> list[dict]:
    found, cursor = [], None
    while True:
        query = {**params, "limit": 50, **({"cursor": cursor} if cursor else {})}
        response = await http.get("/v1/instances", params=query)
        assert response.status_code == 200, response.text
        found += response.json()["data"]
        cursor = response.json()["meta"]["next_cursor"]
        if not cursor:
            return found


async def eventually(check, timeout: float = 20):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.2)


async def test_lists_filter_and_paginate_across_workflows_and_tenants(relay):
    _, key_a = await relay.tenant()
    _, key_b = await relay.tenant()
    async with relay.http(key_a) as a, relay.http(key_b) as b:
        one = (await a.post("/v1/workflows", json={"name": "one", "max_triggers_per_day": None, "workflow_blocks": QUICK})).json()["data"]
        two = (await a.post("/v1/workflows", json={"name": "two", "max_triggers_per_day": None, "workflow_blocks": [
            {"$kind": "Block", "type": "stop", "id": "s", "inputs": {"status": "failed", "reason": "no"}}]})).json()["data"]
        other = (await b.post("/v1/workflows", json={"name": "one", "max_triggers_per_day": None, "workflow_blocks": QUICK})).json()["data"]
        before = datetime.now(UTC) - timedelta(seconds=1)

        async def fire(http, workflow_id, n, **extra):
            for start in range(0, n, 20):
                await asyncio.gather(*(http.post(f"/v1/workflows/{workflow_id}/trigger", json=extra)
                                       for _ in range(min(20, n - start))))

        await fire(a, one["id"], 120)
        await fire(a, two["id"], 60, entity_id="deal-7")
        await fire(b, other["id"], 40)

        async def settled():
            return len(await list_all(a, status="completed")) == 120 and len(await list_all(a, status="failed")) == 60
        assert await eventually(settled, 60)
        everything = await list_all(a)
        by_workflow = await list_all(a, workflow_id=two["id"])
        by_entity = await list_all(a, entity_id="deal-7")
        in_window = await list_all(a, started_after=before.isoformat())
        none_yet = await list_all(a, started_before=before.isoformat())
        theirs = await list_all(b)
        page = (await a.get("/v1/instances", params={"limit": 7})).json()
        bad_status = await a.get("/v1/instances", params={"status": "sleeping"})
        bad_cursor = await a.get("/v1/instances", params={"cursor": "!!!"})
        injected = await a.get("/v1/instances", params={"workflow_id": "x' OR RelayTenant != '"})
    assert len(everything) == 180 and len({i["id"] for i in everything}) == 180
    assert {i["workflow_id"] for i in by_workflow} == {two["id"]} and len(by_workflow) == 60
    assert all(i["status"] == "failed" for i in by_workflow)
    assert len(by_entity) == 60
    assert len(in_window) == 180 and none_yet == []
    assert len(theirs) == 40 and {i["workflow_id"] for i in theirs} == {other["id"]}
    assert len(page["data"]) == 7 and page["meta"]["next_cursor"]
    assert bad_status.status_code == 400 and bad_cursor.status_code == 400 and injected.status_code == 400


async def test_a_failed_step_is_retried_after_the_receiver_is_fixed(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        blocks = [
            {"$kind": "Action", "id": "first", "type": "webhook", "input": {"url": receiver.url, "body": {"step": "first"}}},
            {"$kind": "Block", "type": "delay", "id": "pause", "inputs": {"duration": "0s"}},
            {"$kind": "Action", "id": "second", "type": "webhook",
             "input": {"url": receiver.url, "body": {"step": "second", "from_first": "{{first.output.body.token}}"}}},
            {"$kind": "Action", "id": "third", "type": "webhook", "input": {"url": receiver.url, "body": {"step": "third"}}},
        ]
        workflow = (await http.post("/v1/workflows", json={"name": "retryable", "workflow_blocks": blocks})).json()["data"]
        receiver.respond(200, {"token": "abc"})
        receiver.respond(400, {"error": "receiver misconfigured"})
        failed = (await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={"data": {"x": 1}})).json()["data"]
        failed = await wait_for_status(http, failed["id"], {"failed"})
        retried = await http.post(f"/v1/instances/{failed['id']}/retry", json={})
        assert retried.status_code == 201, retried.text
        done = await wait_for_status(http, retried.json()["data"]["id"], {"completed", "failed"})
        timeline = (await http.get(f"/v1/instances/{failed['id']}/history")).json()["data"]
    # first succeeded, second failed with 400; the retry sends second (now fixed) and third only
    assert [r.json()["step"] for r in receiver.requests] == ["first", "second", "second", "third"]
    assert receiver.requests[2].json()["from_first"] == "abc"  # the reused output of the first step
    assert done["status"] == "completed" and done["retry_of"] == failed["id"]
    steps = {s["id"]: s for s in done["steps"]}
    assert steps["first"]["reused"] is True and steps["pause"]["reused"] is True
    assert steps["second"]["reused"] is False and steps["third"]["status"] == "completed"
    assert done["trigger"]["data"] == {"x": 1}
    kinds = [e["type"] for e in timeline["events"]]
    assert kinds[0] == "workflow_execution_started" and kinds[-1] == "workflow_execution_failed"
    failures = [e for e in timeline["events"] if e["type"] == "activity_task_failed"]
    assert failures and failures[0]["step"] == "second" and "400" in failures[0]["error"]
    assert {e.get("step") for e in timeline["events"]
            if e["type"] == "activity_task_scheduled" and e["action"] != "start_failure_workflow"} == {"first", "second"}


async def test_retry_refuses_running_and_completed_instances(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        workflow = (await http.post("/v1/workflows", json={"name": "fine", "workflow_blocks": QUICK})).json()["data"]
        instance = (await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]
        await wait_for_status(http, instance["id"], {"completed"})
        refused = await http.post(f"/v1/instances/{instance['id']}/retry", json={})
        version_zero = await http.post(f"/v1/instances/{instance['id']}/retry", json={"version": 0})
        sleeping = (await http.post("/v1/workflows", json={"name": "asleep", "workflow_blocks": [
            {"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "1h"}}]})).json()["data"]
        running = (await http.post(f"/v1/workflows/{sleeping['id']}/trigger", json={})).json()["data"]
        refused_running = await http.post(f"/v1/instances/{running['id']}/retry", json={})
        await http.post(f"/v1/instances/{running['id']}/cancel")
    assert refused.status_code == 400 and "completed" in refused.json()["error"]["message"]
    assert version_zero.status_code == 400 and version_zero.json()["error"]["details"][0]["path"].startswith("version")
    assert refused_running.status_code == 400 and refused_running.json()["error"]["code"] == "validation_error"
    assert "running" in refused_running.json()["error"]["message"]


async def test_dry_run_renders_everything_and_sends_nothing(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        blocks = [
            {"$kind": "Action", "id": "lookup", "type": "webhook", "input": {"url": receiver.url, "body": {"q": "{{deal.name}}"}}},
            {"$kind": "Block", "type": "delay", "id": "wait", "inputs": {"duration": "3d"}},
            {"$kind": "Block", "type": "if-else", "id": "big",
             "inputs": {"condition": {"operatorName": "greater_than", "left": "{{lookup.output.body.score}}", "right": 5}},
             "branches": {"then": [{"$kind": "Action", "id": "mail", "type": "send_email",
                                    "input": {"to": ["ceo@example.com"], "subject": "Deal {{deal.name}} scored {{lookup.output.body.score}}"}}],
                          "else": []}},
            {"$kind": "Block", "type": "wait_for_event", "id": "ok", "inputs": {"event": "approved", "timeout": "1d"}},
            {"$kind": "Action", "id": "tell", "type": "send_channel_message",
             "input": {"channel": "slack", "webhook_url": receiver.url, "message": "approved by {{ok.output.by}}",
                       "username": "{{secrets.BOT_NAME}} for {{trigger.data.name}}"}},
        ]
        workflow = (await http.post("/v1/workflows", json={"name": "dry", "workflow_blocks": blocks})).json()["data"]
        trace = await http.post(f"/v1/workflows/{workflow['id']}/test", json={
            "entity_type": "deal", "data": {"name": "Acme"},
            "mocks": {"lookup": {"status_code": 200, "body": {"score": 9}}, "ok": {"by": "kim"}}})
        unsaved = await http.post(f"/v1/workflows/{workflow['id']}/test", json={"definition": {"workflow_blocks": blocks[:1]}})
        stats = (await http.get(f"/v1/workflows/{workflow['id']}")).json()["data"]["stats"]
    assert trace.status_code == 200, trace.text
    data = trace.json()["data"]
    steps = {s["id"]: s for s in data["steps"]}
    assert data["status"] == "completed" and data["dry_run"] is True
    assert steps["lookup"]["output"] == {"status_code": 200, "body": {"score": 9}}
    assert steps["wait"]["output"] == {"slept_seconds": 259200.0}
    assert steps["mail"]["output"]["would_send"]["subject"] == "Deal Acme scored 9"
    assert steps["tell"]["output"]["would_send"]["message"] == "approved by kim"
    # a secret is shown as the template the person wrote, never as the run's internal placeholder
    assert steps["tell"]["output"]["would_send"]["username"] == "{{secrets.BOT_NAME}} for Acme"
    assert unsaved.json()["data"]["steps"][0]["output"]["would_send"]["body"] == {"q": None}  # a missing whole-token value is null
    assert receiver.requests == []
    assert stats["total_runs"] == 0


async def test_a_retry_sends_the_idempotency_keys_of_the_first_instance(relay):
    """Steps inside a for_each run again in a retry (docs/decisions.md): each sends the Idempotency-Key
    it sent the first time, also in a retry of a retry, so the receiver can drop what it has seen."""
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        blocks = [{"$kind": "Block", "type": "for_each", "id": "each", "inputs": {"items": "{{trigger.data.lines}}"},
                   "branches": {"do": [{"$kind": "Action", "id": "line", "type": "webhook",
                                        "input": {"url": receiver.url, "body": {"n": "{{index}}"}}}]}}]
        workflow = (await http.post("/v1/workflows", json={"name": "keys", "workflow_blocks": blocks})).json()["data"]
        receiver.respond(200, {})
        receiver.respond(400, {"error": "not yet"})
        first = (await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={"data": {"lines": [1, 2]}})).json()
        first = await wait_for_status(http, first["data"]["id"], {"failed"})
        receiver.respond(200, {})
        receiver.respond(400, {"error": "still not"})
        second = (await http.post(f"/v1/instances/{first['id']}/retry", json={})).json()["data"]
        second = await wait_for_status(http, second["id"], {"failed"})
        third = (await http.post(f"/v1/instances/{second['id']}/retry", json={})).json()["data"]
        third = await wait_for_status(http, third["id"], {"completed"})
    sent = [(r.json()["n"], r.headers["idempotency-key"]) for r in receiver.requests]
    assert [n for n, _ in sent] == [0, 1, 0, 1, 0, 1]
    keys = {n: {k for m, k in sent if m == n} for n in (0, 1)}
    assert all(len(k) == 1 for k in keys.values()), sent  # each iteration: one key across the three instances
    assert keys[0] != keys[1] and all(k.startswith(f"{first['id']}:") for k in keys[0] | keys[1])
    assert third["retry_of"] == second["id"] and second["retry_of"] == first["id"]
