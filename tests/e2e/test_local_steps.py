"""Short steps (timeout <= 5 s) run as local activities: same effects, exact attempts, a readable trace,
and a cancel that lands once the step in hand ends (docs/decisions.md, "Local steps")."""

from __future__ import annotations

import asyncio
import time

from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver

FAST = {"max_attempts": 4, "initial_interval": "100ms", "backoff": 1.0, "max_interval": "100ms"}


def hook(step_id: str, url: str, **extra) -> dict:
    return {"$kind": "Action", "id": step_id, "type": "webhook", "retry": FAST,
            "input": {"url": f"{url}/{step_id}", "body": {"step": step_id}}, **extra}


async def cancel_once_called(http, workflow_id: str, receiver: HttpReceiver) -> tuple[dict, float]:
    """Trigger the workflow, cancel the run as soon as its first call reaches the receiver; the
    closed run and how long after the cancel request it closed."""
    started = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={})).json()["data"]
    deadline = time.monotonic() + 20
    while not receiver.requests:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    asked = time.monotonic()
    cancelled = await http.post(f"/v1/instances/{started['id']}/cancel")
    assert cancelled.status_code in (200, 202), cancelled.text
    done = await wait_for_status(http, started["id"], {"cancelled", "completed", "failed"})
    return done, time.monotonic() - asked


async def test_a_short_step_is_local_retried_on_timers_with_exact_attempts_and_one_key(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        receiver.respond(500, {"error": "down"})
        receiver.respond(429, {"error": "slow down"}, headers={"Retry-After": "1"})
        receiver.respond(200, {"ok": "quick"})
        receiver.respond(200, {"ok": "regular"})
        workflow = (await http.post("/v1/workflows", json={"name": "local", "workflow_blocks": [
            hook("quick", receiver.url, timeout="2s"), hook("regular", receiver.url)]})).json()["data"]
        started = (await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]
        done = await wait_for_status(http, started["id"], {"completed", "failed"})
        timeline = (await http.get(f"/v1/instances/{started['id']}/history")).json()["data"]
    steps = {s["id"]: s for s in done["steps"]}
    assert done["status"] == "completed", done
    assert steps["quick"]["attempts"] == 3 and steps["quick"]["output"]["body"] == {"ok": "quick"}
    assert steps["regular"]["attempts"] == 1 and steps["regular"]["output"]["body"] == {"ok": "regular"}
    paths = [r.path for r in receiver.requests]
    assert paths == ["/quick", "/quick", "/quick", "/regular"]
    assert {r.headers["idempotency-key"] for r in receiver.requests[:3]} == {f"{started['id']}:quick"}
    # Retry-After: 1 was honoured: the third attempt came a second after the second
    assert receiver.requests[2].at - receiver.requests[1].at >= 0.9
    local = [e for e in timeline["events"] if e["type"] == "local_activity"]
    assert [(e["step"], e["action"], e["attempt"]) for e in local] == [
        ("quick", "webhook", 1), ("quick", "webhook", 2), ("quick", "webhook", 3)]
    assert "500" in local[0]["error"] and "429" in local[1]["error"] and "error" not in local[2]
    assert [e["duration_seconds"] for e in timeline["events"] if e["type"] == "timer_started"] == [0.1, 1.0]
    scheduled = [e for e in timeline["events"] if e["type"] == "activity_task_scheduled"]
    assert [e["step"] for e in scheduled] == ["regular"]  # the 30 s step stays a regular activity


async def test_a_timed_out_local_step_fails_after_its_attempts_and_the_failure_reads_back(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        for _ in range(2):
            receiver.respond(200, {"late": True}, delay=1.5)
        workflow = (await http.post("/v1/workflows", json={"name": "late", "workflow_blocks": [
            hook("late", receiver.url, timeout="500ms", retry={**FAST, "max_attempts": 2})]})).json()["data"]
        started = (await http.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]
        done = await wait_for_status(http, started["id"], {"completed", "failed"})
        again = (await http.get(f"/v1/instances/{started['id']}")).json()["data"]  # read back by a replay
    [step] = done["steps"]
    assert done["status"] == "failed" and step["status"] == "failed" and step["attempts"] == 2, done
    assert "timed out" in step["error"].lower()
    assert again["steps"] == done["steps"]
    assert len(receiver.requests) == 2


async def test_a_cancel_during_a_local_step_lands_when_the_step_ends(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        receiver.respond(200, {"slow": True}, delay=2)
        workflow = (await http.post("/v1/workflows", json={"name": "cancel-local", "workflow_blocks": [
            hook("slow", receiver.url, timeout="5s"),
            {"$kind": "Block", "type": "delay", "id": "pause", "inputs": {"duration": "1h"}},
            hook("never", receiver.url, timeout="5s")]})).json()["data"]
        done, closed_after = await cancel_once_called(http, workflow["id"], receiver)
    steps = {s["id"]: s for s in done["steps"]}
    assert done["status"] == "cancelled", done
    # The step in hand finishes (its call was already made); the cancel is seen right after it.
    assert steps["slow"]["status"] == "completed" and steps["pause"]["status"] == "cancelled"
    assert "never" not in steps and [r.path for r in receiver.requests] == ["/slow"]
    assert closed_after < 10, closed_after


async def test_a_cancel_during_a_chain_of_local_steps_lands_within_the_task_heartbeat(relay):
    """Fast local steps share one workflow task, so a cancel waits behind the chain, cut by
    Temporal's workflow-task heartbeat (~8 s). Measured here: how many steps ran, how long it took."""
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        for _ in range(6):
            receiver.respond(200, {"slow": True}, delay=2)
        workflow = (await http.post("/v1/workflows", json={"name": "chain", "workflow_blocks": [
            hook(f"s{i}", receiver.url, timeout="5s") for i in range(6)]})).json()["data"]
        done, closed_after = await cancel_once_called(http, workflow["id"], receiver)
    steps = {s["id"]: s["status"] for s in done["steps"]}
    print(f"chain cancel: closed {closed_after:.1f}s after the request, steps {steps}, "
          f"calls {[r.path for r in receiver.requests]}")
    assert done["status"] == "cancelled", done
    assert len(receiver.requests) < 6 and closed_after < 10, (closed_after, steps)
