"""Step retries, step failures, on_error, and user errors, through the API and the real server."""

from __future__ import annotations

import uuid

from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver

FAST_RETRY = {"max_attempts": 4, "initial_interval": "100ms", "backoff": 1.0, "max_interval": "100ms"}


def call(step_id: str, url: str, **extra) -> dict:
    return {"$kind": "Action", "id": step_id, "type": "webhook", "input": {"url": url, "body": {"step": step_id}},
            "retry": FAST_RETRY, **extra}


async def run(relay, key: str, blocks: list[dict], data: dict | None = None) -> dict:
    async with relay.http(key) as http:
        created = await http.post("/v1/workflows", json={"name": f"wf {uuid.uuid4().hex[:8]}", "workflow_blocks": blocks})
        assert created.status_code == 201, created.text
        started = await http.post(f"/v1/workflows/{created.json()['data']['id']}/trigger", json={"data": data or {}})
        assert started.status_code == 201, started.text
        return await wait_for_status(http, started.json()["data"]["id"], {"completed", "failed"})


async def test_server_errors_are_retried_with_one_idempotency_key(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver:
        receiver.respond(500, {"error": "down"})
        receiver.respond(500, {"error": "down"})
        receiver.respond(200, {"ok": True})
        done = await run(relay, key, [call("flaky", receiver.url)])
    assert done["status"] == "completed", done
    assert len(receiver.requests) == 3
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {f"{done['id']}:flaky"}
    [step] = done["steps"]
    assert step["attempts"] == 3 and step["output"]["body"] == {"ok": True}


async def test_client_error_fails_the_step_at_once_with_its_error(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver:
        receiver.respond(400, {"error": "bad deal"})
        done = await run(relay, key, [call("strict", receiver.url), call("never", receiver.url)])
    assert done["status"] == "failed"
    assert len(receiver.requests) == 1
    [step] = done["steps"]
    assert step["status"] == "failed" and step["attempts"] == 1
    assert "400" in step["error"] and "bad deal" in step["error"]
    assert "strict" in done["error"]


async def test_a_step_refused_after_retries_records_every_attempt(relay):
    """500 then 400: two attempts, as a local step and as a regular activity (timeout over 5 s); the
    regular one said 1 before (Temporal's failure tells why retrying stopped, not how often it ran)."""
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver:
        for _ in range(2):
            receiver.respond(500, {"error": "down"})
            receiver.respond(400, {"error": "bad deal"})
        done = await run(relay, key, [call("local", receiver.url, on_error="continue"),
                                      call("regular", receiver.url, timeout="30s")])
    assert len(receiver.requests) == 4
    steps = {s["id"]: s for s in done["steps"]}
    assert steps["local"]["status"] == "failed" and steps["local"]["attempts"] == 2, steps["local"]
    assert steps["regular"]["status"] == "failed" and steps["regular"]["attempts"] == 2, steps["regular"]


async def test_on_error_continue_records_the_failure_and_goes_on(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver:
        receiver.respond(404, "no such thing")
        done = await run(relay, key, [call("optional", receiver.url, on_error="continue"),
                                      call("next", receiver.url)])
    assert done["status"] == "completed", done
    steps = {s["id"]: s for s in done["steps"]}
    assert steps["optional"]["status"] == "failed" and "404" in steps["optional"]["error"]
    assert steps["next"]["status"] == "completed"
    assert [r.json()["step"] for r in receiver.requests] == ["optional", "next"]


async def test_parallel_branches_and_for_each_produce_their_outputs(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver:
        blocks = [
            {"$kind": "Block", "type": "parallel", "id": "both", "branches": {
                "left": [call("l1", receiver.url)], "right": [call("r1", receiver.url)]}},
            {"$kind": "Block", "type": "for_each", "id": "each",
             "inputs": {"items": "{{trigger.data.lines}}", "max_concurrency": 2},
             "branches": {"do": [{"$kind": "Action", "id": "line", "type": "webhook",
                                  "input": {"url": receiver.url, "body": {"sku": "{{item.sku}}", "n": "{{index}}"}}}]}},
        ]
        done = await run(relay, key, blocks, {"lines": [{"sku": "a"}, {"sku": "b"}, {"sku": "c"}]})
    assert done["status"] == "completed", done
    steps = {s["id"]: s for s in done["steps"]}
    assert steps["both"]["output"] == {"branches": ["left", "right"]}
    assert steps["l1"]["status"] == steps["r1"]["status"] == "completed"
    assert steps["each"]["output"]["count"] == 3
    assert [r["status_code"] for r in steps["each"]["output"]["results"]] == [200, 200, 200]
    lines = sorted((r.json()["sku"], r.json()["n"]) for r in receiver.requests if "sku" in r.json())
    assert lines == [("a", 0), ("b", 1), ("c", 2)]
    keys = {r.headers["idempotency-key"] for r in receiver.requests if "sku" in r.json()}
    assert keys == {f"{done['id']}:line[{i}]" for i in range(3)}


async def test_nested_for_each_gives_every_call_its_own_idempotency_key(relay):
    """Keys carry every loop index: a receiver that drops repeated keys must not drop the inner
    steps of the second outer iteration (they were `ping[0]`, `ping[1]` again)."""
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver:
        blocks = [{"$kind": "Block", "type": "for_each", "id": "outer",
                   "inputs": {"items": "{{trigger.data.groups}}", "max_concurrency": 1},
                   "branches": {"do": [{"$kind": "Block", "type": "for_each", "id": "inner",
                                        "inputs": {"items": "{{item}}", "max_concurrency": 1},
                                        "branches": {"do": [{"$kind": "Action", "id": "ping", "type": "webhook",
                                                             "input": {"url": receiver.url,
                                                                       "body": {"v": "{{item}}"}}}]}}]}}]
        done = await run(relay, key, blocks, {"groups": [["a", "b"], ["c", "d"]]})
    assert done["status"] == "completed", done
    calls = sorted((r.json()["v"], r.headers["idempotency-key"]) for r in receiver.requests)
    assert calls == [("a", f"{done['id']}:ping[0][0]"), ("b", f"{done['id']}:ping[0][1]"),
                     ("c", f"{done['id']}:ping[1][0]"), ("d", f"{done['id']}:ping[1][1]")]


async def test_a_user_error_fails_the_run_with_a_clear_message(relay):
    _, key = await relay.tenant()
    blocks = [{"$kind": "Block", "type": "if-else", "id": "big",
               "inputs": {"condition": {"operatorName": "greater_than", "left": "{{trigger.data.value}}", "right": 50000}},
               "branches": {"then": [], "else": []}}]
    done = await run(relay, key, blocks, {"value": "lots"})
    assert done["status"] == "failed"
    assert "greater_than needs numbers" in done["error"] and "'lots'" in done["error"]
    assert done["steps"][0]["status"] == "failed" and done["steps"][0]["error_type"] == "UserError"


async def test_stop_block_ends_the_run_as_it_says(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver:
        done = await run(relay, key, [
            {"$kind": "Block", "type": "stop", "id": "halt", "inputs": {"status": "completed", "reason": "nothing to do"}},
            call("never", receiver.url)])
        failed = await run(relay, key, [
            {"$kind": "Block", "type": "stop", "id": "halt", "inputs": {"status": "failed", "reason": "bad {{trigger.data.x}}"}}],
            {"x": "input"})
    assert done["status"] == "completed" and receiver.requests == []
    assert failed["status"] == "failed" and failed["error"] == "bad input"


async def test_missing_values_render_empty_and_are_noted_on_the_step(relay):
    """SPEC §2.5: a missing value renders as "" (null as a whole value) and is noted on the step,
    in an action's input and in an if-else condition alike."""
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver:
        blocks = [
            {"$kind": "Block", "type": "if-else", "id": "check",
             "inputs": {"condition": {"operatorName": "equals", "left": "{{trigger.data.tier}}", "right": None}},
             "branches": {"then": [call("tell", receiver.url, input={
                 "url": receiver.url, "body": {"hi": "Hello {{trigger.data.name}}", "whole": "{{trigger.data.nope}}"}})],
                          "else": []}},
        ]
        done = await run(relay, key, blocks, {"present": 1})
    steps = {s["id"]: s for s in done["steps"]}
    assert done["status"] == "completed", done
    assert steps["check"]["branch"] == "then" and steps["check"]["missing"] == ["trigger.data.tier"]
    assert sorted(steps["tell"]["missing"]) == ["trigger.data.name", "trigger.data.nope"]
    assert receiver.requests[0].json() == {"hi": "Hello ", "whole": None}
