"""call_workflow (SPEC §2.4) through the API, the real Temporal dev server and a local receiver:
waited and not waited, a failing child (with on_error continue), a cancelled parent cancelling its
child, the nesting limit, and validation of the block."""

from __future__ import annotations

import asyncio

from temporalio.client import WorkflowExecutionStatus

from tests.helpers.runs import wait_for_status


def call(block_id: str, workflow_id: str, **inputs) -> dict:
    return {"$kind": "Block", "type": "call_workflow", "id": block_id,
            "inputs": {"workflow_id": workflow_id, **inputs}}


async def create(http, name: str, blocks: list, **extra) -> dict:
    response = await http.post("/v1/workflows", json={"name": name, "max_triggers_per_day": None,
                                                      "workflow_blocks": blocks, **extra})
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def trigger(http, workflow_id: str, **body) -> str:
    response = await http.post(f"/v1/workflows/{workflow_id}/trigger", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


async def test_waited_and_not_waited_calls_are_normal_instances(relay, receiver):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        child = await create(http, "child", [{"$kind": "Action", "type": "webhook", "id": "hook", "input": {
            "url": f"{receiver.url}/child", "body": {"x": "{{trigger.data.x}}", "parent": "{{trigger.parent}}"}}}])
        parent = await create(http, "parent", [
            call("waited", child["id"], data={"x": "{{trigger.data.n}}"}),
            call("loose", child["id"], data={"x": 2}, wait=False),
            {"$kind": "Action", "type": "webhook", "id": "after", "input": {
                "url": f"{receiver.url}/after", "body": {"status": "{{waited.output.status}}",
                                                         "code": "{{waited.output.outputs.hook.status_code}}"}}}])
        parent_id = await trigger(http, parent["id"], data={"n": 1})
        done = await wait_for_status(http, parent_id, {"completed", "failed"})
        assert done["status"] == "completed", done
        steps = {step["id"]: step for step in done["steps"]}
        waited = steps["waited"]["output"]
        assert waited["status"] == "completed" and waited["outputs"]["hook"]["status_code"] == 200
        loose = steps["loose"]["output"]
        assert set(loose) == {"instance_id"}
        first = await wait_for_status(http, waited["instance_id"], {"completed"})
        assert first["trigger"]["type"] == "call" and first["trigger"]["data"] == {"x": 1}
        assert first["trigger"]["parent"] == {"instance_id": parent_id, "step_id": "waited"}
        assert first["workflow_id"] == child["id"] and first["workflow_version"] == 1
        second = await wait_for_status(http, loose["instance_id"], {"completed"})
        assert second["trigger"]["parent"] == {"instance_id": parent_id, "step_id": "loose"}
        listed = (await http.get("/v1/instances", params={"workflow_id": child["id"]})).json()["data"]
        assert {item["id"] for item in listed} == {waited["instance_id"], loose["instance_id"]}
        after = next(r for r in receiver.requests if r.path == "/after").json()
        assert after == {"status": "completed", "code": 200}
        bodies = sorted(r.json()["x"] for r in receiver.requests if r.path == "/child")
        assert bodies == [1, 2]


async def test_failing_child_fails_the_step_unless_continue(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        failing = await create(http, "failing", [
            {"$kind": "Block", "type": "stop", "id": "no", "inputs": {"status": "failed", "reason": "child says no"}}])
        parent = await create(http, "parent", [
            {**call("tolerated", failing["id"]), "on_error": "continue"},
            {"$kind": "Block", "type": "delay", "id": "went_on", "inputs": {"duration": "0s"}},
            call("fatal", failing["id"])])
        done = await wait_for_status(http, await trigger(http, parent["id"]), {"completed", "failed"})
        steps = {step["id"]: step for step in done["steps"]}
        assert done["status"] == "failed"
        assert steps["tolerated"]["status"] == "failed" and "child says no" in steps["tolerated"]["error"]
        assert steps["went_on"]["status"] == "completed"
        assert steps["fatal"]["status"] == "failed" and "child says no" in done["error"]
        child = await wait_for_status(http, steps["fatal"]["output"]["instance_id"], {"failed"})
        assert child["trigger"]["parent"]["step_id"] == "fatal"
        retried = await http.post(f"/v1/instances/{child['id']}/retry", json={})  # a normal instance
        assert retried.status_code == 201, retried.text
        assert retried.json()["data"]["trigger"]["type"] == "call"


async def test_a_call_counts_against_the_callees_circuit_breaker(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        callee = await create(http, "once a day", [], max_triggers_per_day=1)
        parent = await create(http, "parent", [{**call("one", callee["id"]), "on_error": "continue"},
                                               {**call("two", callee["id"]), "on_error": "continue"}])
        done = await wait_for_status(http, await trigger(http, parent["id"]), {"completed", "failed"})
        steps = {step["id"]: step for step in done["steps"]}
        assert steps["one"]["status"] == "completed"
        assert steps["two"]["status"] == "failed" and steps["two"]["error_type"] == "workflow_disabled"
        tripped = (await http.get(f"/v1/workflows/{callee['id']}")).json()["data"]
        assert tripped["enabled"] is False and tripped["disabled_reason"] == "circuit_breaker"


async def test_cancelling_the_parent_cancels_the_waited_child(relay):
    tenant, key = await relay.tenant()
    async with relay.http(key) as http:
        slow = await create(http, "slow", [{"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "1h"}}])
        parent = await create(http, "parent", [call("waited", slow["id"])])
        parent_id = await trigger(http, parent["id"])
        for _ in range(100):
            steps = (await http.get(f"/v1/instances/{parent_id}")).json()["data"]["steps"]
            if steps and (steps[0].get("output") or {}).get("instance_id"):
                break
            await asyncio.sleep(0.1)
        child_id = steps[0]["output"]["instance_id"]
        await wait_for_status(http, child_id, {"running"})
        cancelled = await http.post(f"/v1/instances/{parent_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        await wait_for_status(http, parent_id, {"cancelled"})
        await wait_for_status(http, child_id, {"cancelled"})
        description = await relay.client.get_workflow_handle(f"{tenant}:{child_id}").describe()
        assert description.status == WorkflowExecutionStatus.CANCELED


async def test_calls_nest_at_most_eight_deep(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        itself = await create(http, "recursive", [])
        patched = await http.patch(f"/v1/workflows/{itself['id']}", json={"workflow_blocks": [
            call("again", itself["id"], data={"level": "{{trigger.data.level}}"})]})
        assert patched.status_code == 200, patched.text
        done = await wait_for_status(http, await trigger(http, itself["id"]), {"completed", "failed"}, timeout=60)
        assert done["status"] == "failed"
        children = (await http.get("/v1/instances", params={"workflow_id": itself["id"], "trigger_type": "call",
                                                              "limit": 50})).json()["data"]
        assert len(children) == 8
        kinds = [(await http.get(f"/v1/instances/{child['id']}")).json()["data"]["steps"][0]["error_type"]
                 for child in children]
        assert kinds.count("CallDepthExceeded") == 1  # the eighth child, at depth 8, may not call again
        assert "calls nest at most 8 deep" in done["error"]


async def test_call_validation_names_the_path(relay):
    _, key = await relay.tenant()
    _, other_key = await relay.tenant()
    async with relay.http(key) as http, relay.http(other_key) as other:
        foreign = await create(other, "foreign", [])
        response = await http.post("/v1/workflows", json={"name": "bad", "workflow_blocks": [
            {"$kind": "Block", "type": "if-else", "id": "branch", "inputs": {"condition": {
                "operatorName": "equals", "left": "1", "right": "1"}}, "branches": {"then": [
                    call("unknown", "wf_nope"), call("foreign", foreign["id"]),
                    call("texty", foreign["id"], data="x {{trigger.data}}"), call("fine", foreign["id"])]}}]})
        assert response.status_code == 400, response.text
        details = response.json()["error"]["details"]
        assert {detail["path"] for detail in details} == {
            "workflow_blocks.0.branches.then.0.inputs.workflow_id",
            "workflow_blocks.0.branches.then.1.inputs.workflow_id",
            "workflow_blocks.0.branches.then.2.inputs.workflow_id", "workflow_blocks.0.branches.then.2.inputs.data",
            "workflow_blocks.0.branches.then.3.inputs.workflow_id"}
        assert "'wf_nope'" in details[0]["message"]
        for inputs, path in (({"workflow_id": "wf_x", "version": 0}, "inputs.version"),
                             ({"workflow_id": "wf_x", "wait": "yes"}, "inputs.wait"),
                             ({"workflow_id": "wf_x", "extra": 1}, "inputs.extra"),
                             ({}, "inputs.workflow_id")):
            response = await http.post("/v1/workflows", json={"name": "bad", "workflow_blocks": [
                {"$kind": "Block", "type": "call_workflow", "id": "c", "inputs": inputs}]})
            assert response.status_code == 400, response.text
            assert [d["path"] for d in response.json()["error"]["details"]] == [f"workflow_blocks.0.{path}"]
        assert (await http.get("/v1/workflows")).json()["meta"]["total"] == 0


async def test_a_retry_reuses_a_completed_call_instead_of_starting_the_child_again(relay, receiver):
    """Retry from the failed step (SPEC §3, `POST /v1/instances/{id}/retry`): the call_workflow step before it completed, so its
    child is not started a second time (its webhook arrives once); the reused output stands."""
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        child = await create(http, "child once", [{"$kind": "Action", "type": "webhook", "id": "hook", "input": {
            "url": f"{receiver.url}/child", "body": {"n": 1}}}])
        parent = await create(http, "parent retried", [
            call("sub", child["id"]),
            {"$kind": "Action", "type": "webhook", "id": "after", "input": {
                "url": f"{receiver.url}/after", "body": {"child": "{{sub.output.instance_id}}"}}}])
        receiver.respond(200, {})  # the child's webhook
        receiver.respond(400, {"error": "not yet"})  # the parent's step after the call
        failed = await wait_for_status(http, await trigger(http, parent["id"]), {"failed"})
        retried = await http.post(f"/v1/instances/{failed['id']}/retry", json={})
        assert retried.status_code == 201, retried.text
        done = await wait_for_status(http, retried.json()["data"]["id"], {"completed", "failed"})
        children = (await http.get("/v1/instances", params={"workflow_id": child["id"]})).json()["data"]
    assert done["status"] == "completed", done
    steps = {step["id"]: step for step in done["steps"]}
    assert steps["sub"]["reused"] is True and steps["after"]["reused"] is False
    assert [r.path for r in receiver.requests].count("/child") == 1
    assert len(children) == 1 and receiver.requests[-1].json() == {"child": children[0]["id"]}
