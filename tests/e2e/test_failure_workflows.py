"""Failure workflows (SPEC §3.4) through the API, the real Temporal dev server and a local receiver:
a failed run starts its workflow's failure workflow with the failed run's id and step; dry runs
and the failure workflow's own runs never start it; the setting is validated."""

from __future__ import annotations

import asyncio

from tests.helpers.runs import wait_for_status


async def create(http, name: str, blocks: list, **extra) -> dict:
    response = await http.post("/v1/workflows", json={"name": name, "max_triggers_per_day": None,
                                                      "workflow_blocks": blocks, **extra})
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def runs_of(http, workflow_id: str) -> list[dict]:
    return (await http.get("/v1/instances", params={"workflow_id": workflow_id})).json()["data"]


async def runs_seen(http, workflow_id: str, *, at_least: int = 1, settle: float = 0.0) -> list[dict]:
    """The workflow's runs once visibility (which lags) lists `at_least` of them, then `settle`
    seconds more, so that a run started late (the bug a negative check looks for) is listed too."""
    for _ in range(100):
        runs = await runs_of(http, workflow_id)
        if len(runs) >= at_least:
            break
        await asyncio.sleep(0.1)
    if settle:
        await asyncio.sleep(settle)
        runs = await runs_of(http, workflow_id)
    return runs


async def test_a_failed_run_starts_the_failure_workflow(relay, receiver):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        handler = await create(http, "on failure", [
            {"$kind": "Action", "type": "webhook", "id": "tell", "input": {
                "url": f"{receiver.url}/handler", "body": {"type": "{{trigger.type}}", "data": "{{trigger.data}}"}}},
            {"$kind": "Block", "type": "stop", "id": "fails_too", "inputs": {"status": "failed"}}])
        # the failure workflow's own failed runs never start it (not even when it names itself)
        patched = await http.patch(f"/v1/workflows/{handler['id']}", json={"on_failure_workflow_id": handler["id"]})
        assert patched.status_code == 200 and patched.json()["data"]["on_failure_workflow_id"] == handler["id"]
        main = await create(http, "main", [
            {"$kind": "Block", "type": "delay", "id": "first", "inputs": {"duration": "0s"}},
            {"$kind": "Action", "type": "webhook", "id": "boom", "input": {"url": f"{receiver.url}/boom"}}],
            on_failure_workflow_id=handler["id"])
        assert main["on_failure_workflow_id"] == handler["id"]
        receiver.respond(400, {"error": "no"})
        dry = await http.post(f"/v1/workflows/{main['id']}/test", json={"mocks": {}})
        assert dry.status_code in (200, 201), dry.text
        stopping = await create(http, "stops", [{"$kind": "Block", "type": "stop", "id": "halt",
                                                 "inputs": {"status": "failed"}}], on_failure_workflow_id=handler["id"])
        dry = await http.post(f"/v1/workflows/{stopping['id']}/test", json={})
        assert dry.status_code in (200, 201) and dry.json()["data"]["status"] == "failed", dry.text
        started = await http.post(f"/v1/workflows/{main['id']}/trigger", json={})
        failed = await wait_for_status(http, started.json()["data"]["id"], {"failed", "completed"})
        assert failed["status"] == "failed"
        [handler_run] = await runs_seen(http, handler["id"])  # one run: not the dry run's, not its own failure's
        handled = await wait_for_status(http, handler_run["id"], {"failed", "completed"})
        assert handled["status"] == "failed" and handled["trigger"]["type"] == "failure"
        told = next(r for r in receiver.requests if r.path == "/handler").json()
        assert told["type"] == "failure"
        data = told["data"]
        assert data == {"instance_id": failed["id"], "workflow_id": main["id"], "workflow_name": "main",
                        "status": "failed", "error": failed["error"], "failed_step": "boom"}
        assert len(await runs_seen(http, handler["id"], settle=1.5)) == 1  # its own failure started none


async def test_the_setting_is_validated(relay):
    _, key = await relay.tenant()
    _, other_key = await relay.tenant()
    async with relay.http(key) as http, relay.http(other_key) as other:
        foreign = await create(other, "foreign", [])
        mine = await create(http, "mine", [])
        for value in ("wf_nope", foreign["id"], 7, "", "x" * 41):
            response = await http.post("/v1/workflows", json={"name": "bad", "on_failure_workflow_id": value})
            assert response.status_code == 400, response.text
            assert [d["path"] for d in response.json()["error"]["details"]] == ["on_failure_workflow_id"]
            response = await http.patch(f"/v1/workflows/{mine['id']}", json={"on_failure_workflow_id": value})
            assert response.status_code == 400, response.text
        camel = await http.patch(f"/v1/workflows/{mine['id']}", json={"onFailureWorkflowId": mine["id"]})
        assert camel.status_code == 200 and camel.json()["data"]["on_failure_workflow_id"] == mine["id"]
        cleared = await http.patch(f"/v1/workflows/{mine['id']}", json={"on_failure_workflow_id": None})
        assert cleared.json()["data"]["on_failure_workflow_id"] is None
        assert (await http.get("/v1/workflows")).json()["meta"]["total"] == 1
