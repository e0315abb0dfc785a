"""Flow control (SPEC §2.7) combined with composition (§2.4 call_workflow and approval, §3.4 failure
workflows), through the real API, Temporal dev server and local receivers: a call's child gets its
callee's priority and waits in its gates, a debounced/batched callee is not collected, a queued
run's approval, a failure workflow under flow control."""

from __future__ import annotations

import asyncio

import httpx

from app.crypto import approval_key
from app.temporal import temporal_workflow_id
from relay_common.approvals import Link, sign
from tests.e2e.test_instances import list_all
from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver


def hook(step_id: str, url: str, **body) -> dict:
    return {"$kind": "Action", "id": step_id, "type": "webhook",
            "input": {"url": url, "body": {"step": step_id, "instance": "{{instance.id}}", **body}}}


def pause(seconds: float, step_id: str = "hold") -> dict:
    return {"$kind": "Block", "type": "delay", "id": step_id, "inputs": {"duration": f"{int(seconds * 1000)}ms"}}


def call(block_id: str, workflow_id: str, **inputs) -> dict:
    return {"$kind": "Block", "type": "call_workflow", "id": block_id,
            "inputs": {"workflow_id": workflow_id, **inputs}}


async def create(http, name: str, blocks: list, flow: dict | None = None, **extra) -> dict:
    response = await http.post("/v1/workflows", json={"name": name, "max_triggers_per_day": None,
                                                      "workflow_blocks": blocks, "flow_control": flow, **extra})
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def trigger(http, workflow_id: str, **body) -> dict:
    response = await http.post(f"/v1/workflows/{workflow_id}/trigger", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def child_of(http, parent_id: str, step_id: str = "call") -> str:
    for _ in range(150):
        steps = {s["id"]: s for s in (await http.get(f"/v1/instances/{parent_id}")).json()["data"]["steps"]}
        child = (steps.get(step_id, {}).get("output") or {}).get("instance_id")
        if child:
            return child
        await asyncio.sleep(0.1)
    raise AssertionError(f"{parent_id} never started its child: {steps}")


async def test_calls_of_a_concurrency_limited_callee_queue_and_a_cancelled_parent_frees_nothing(relay):
    """Four parents call a callee with concurrency 1 and its own priority: the children get the
    callee's priority, queue (listed as queued), run one at a time, and waited parents get their
    outputs; cancelling a parent whose child is queued cancels the child, which never runs and
    lets no other child in beside the one running."""
    tenant, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        callee = await create(http, "one at a time", [hook("begin", receiver.url), pause(0.6), hook("end", receiver.url)],
                              {"concurrency": {"limit": 1}, "priority": 1})
        parent = await create(http, "caller", [call("call", callee["id"], data={"n": "{{trigger.data.n}}"})])
        parents = [(await trigger(http, parent["id"], data={"n": n}))["id"] for n in range(4)]
        children = {p: await child_of(http, p) for p in parents}
        queued: list[dict] = []
        for _ in range(50):
            queued = await list_all(http, workflow_id=callee["id"], status="queued")
            if len(queued) == 3:
                break
            await asyncio.sleep(0.1)
        assert len(queued) == 3, queued
        assert all(item["status"] == "queued" for item in queued)
        last = max(queued, key=lambda item: item["started_at"])  # the last in line: not admitted meanwhile
        victim = next(p for p in parents if children[p] == last["id"])
        assert (await http.post(f"/v1/instances/{victim}/cancel", json={})).status_code == 200
        await wait_for_status(http, children[victim], {"cancelled"})
        done = [await wait_for_status(http, p, {"completed", "failed"}, timeout=30) for p in parents if p != victim]
        described = await relay.client.get_workflow_handle(
            temporal_workflow_id(tenant, children[parents[0]])).describe()
    assert described.raw_description.workflow_execution_info.priority.priority_key == 1
    assert described.raw_description.workflow_execution_info.priority.fairness_key == tenant
    assert [d["status"] for d in done] == ["completed"] * 3
    for finished in done:
        output = finished["steps"][0]["output"]
        assert output["status"] == "completed" and output["outputs"]["end"]["status_code"] == 200
    hits = sorted((r.at, r.json()["step"], r.json()["instance"]) for r in receiver.requests)
    assert [step for _, step, _ in hits] == ["begin", "end"] * 3, f"two children overlapped: {hits}"
    assert children[victim] not in {instance for _, _, instance in hits}


async def test_a_debounced_or_batched_callee_is_called_at_once(relay):
    """A call's child goes through no debounce or batch collector (docs/flow-control.md): each call
    is its own run at once, with its caller's data (a waited parent would otherwise wait for a
    collector that never heard of its child)."""
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        debounced = await create(http, "debounced", [hook("d", receiver.url, n="{{trigger.data.n}}")],
                                 {"debounce": {"period": "30s"}})
        batched = await create(http, "batched", [hook("b", receiver.url, n="{{trigger.data.n}}")],
                               {"batch": {"max_size": 10, "timeout": "30s"}})
        parent = await create(http, "caller", [
            call("first", debounced["id"], data={"n": 1}), call("second", debounced["id"], data={"n": 2}),
            call("third", batched["id"], data={"n": 3}), call("loose", batched["id"], data={"n": 4}, wait=False)])
        done = await wait_for_status(http, (await trigger(http, parent["id"]))["id"], {"completed", "failed"},
                                     timeout=15)
        assert done["status"] == "completed", done
        loose = await wait_for_status(http, done["steps"][3]["output"]["instance_id"], {"completed"}, timeout=15)
    outputs = [step["output"] for step in done["steps"][:3]]
    assert len({output["instance_id"] for output in outputs}) == 3
    assert [output["status"] for output in outputs] == ["completed"] * 3
    assert loose["trigger"]["type"] == "call" and loose["trigger"].get("events") is None
    assert sorted(r.json()["n"] for r in receiver.requests) == [1, 2, 3, 4]


async def test_a_queued_runs_approval_decided_before_admission_and_by_link(relay):
    """Concurrency 1: the first run holds the slot at its approval, the second is queued. The
    queued run's link opens (GET decides nothing) and it can be decided over the API already (kept
    until its block); the first is decided by its link; then the second runs, takes its decision at
    once, and its own link (the same URL) is gone (410)."""
    tenant, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http, httpx.AsyncClient(timeout=30) as browser:
        workflow = await create(http, "approve in turn", [
            hook("mail", receiver.url, link="{{approvals.ok.approve_url}}"),
            {"$kind": "Block", "type": "approval", "id": "ok", "inputs": {"message": "Go {{trigger.data.n}}?",
                                                                           "timeout": "30s"},
             "branches": {"approved": [hook("yes", receiver.url, by="{{ok.output.by}}")]}}],
            {"concurrency": {"limit": 1}})
        first = await trigger(http, workflow["id"], data={"n": 1})
        second = await trigger(http, workflow["id"], data={"n": 2})
        await wait_for_status(http, first["id"], {"running"})
        assert (await http.get(f"/v1/instances/{second['id']}")).json()["data"]["status"] == "queued"
        token = sign(approval_key(relay.settings), Link(tenant, second["id"], "ok", "approved"))  # the link it will send
        queued_page = await browser.get(f"{relay.url}/v1/approvals/{token}", headers={"Accept": "text/html"})
        early = await http.post(f"/v1/instances/{second['id']}/approvals/ok", json={"decision": "approved", "by": "api"})
        for _ in range(100):
            mails = [r.json() for r in receiver.requests if r.json()["step"] == "mail"]
            if mails:
                break
            await asyncio.sleep(0.1)
        page = await browser.get(mails[0]["link"], headers={"Accept": "text/html"})
        decided = await browser.post(mails[0]["link"], data={"by": "link"})
        done = [await wait_for_status(http, i["id"], {"completed", "failed"}) for i in (first, second)]
        links = {r.json()["instance"]: r.json()["link"] for r in receiver.requests if r.json()["step"] == "mail"}
        late = await browser.post(links[second["id"]], data={"by": "late"})
    assert early.status_code == 200, early.text
    assert page.status_code == 200 and "Go 1?" in page.text, page.text
    assert decided.status_code == 200, decided.text
    assert [d["status"] for d in done] == ["completed", "completed"]
    assert [next(s for s in d["steps"] if s["id"] == "ok")["output"]["by"] for d in done] == ["link", "api"]
    assert late.status_code == 410
    assert queued_page.status_code == 200 and "not reached this approval yet" in queued_page.text, queued_page.text
    assert links[second["id"]] == f"{relay.url}/v1/approvals/{token}"


async def test_failure_workflows_under_flow_control(relay):
    """A failing workflow with concurrency 1 releases its slot and starts its failure workflow, which
    has concurrency 1 itself: every failure runs, one at a time, with the failed run's data."""
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        handler = await create(http, "on failure", [hook("h", receiver.url, failed="{{trigger.data.instance_id}}"),
                                                    pause(0.3), hook("h_end", receiver.url)],
                               {"concurrency": {"limit": 1}})
        failing = await create(http, "fails", [
            pause(0.2, "work"), {"$kind": "Block", "type": "stop", "id": "no", "inputs": {"status": "failed"}}],
            {"concurrency": {"limit": 1}}, on_failure_workflow_id=handler["id"])
        runs = [await trigger(http, failing["id"]) for _ in range(2)]
        assert [r["status"] for r in runs] == ["queued"] * 2
        done = [await wait_for_status(http, r["id"], {"completed", "failed"}) for r in runs]
        for _ in range(100):
            handled = await list_all(http, workflow_id=handler["id"])
            if len(handled) == 2 and {h["status"] for h in handled} == {"completed"}:
                break
            await asyncio.sleep(0.1)
    assert [d["status"] for d in done] == ["failed"] * 2
    assert {h["status"] for h in handled} == {"completed"} and len(handled) == 2
    assert {h["trigger_type"] for h in handled} == {"failure"}
    hits = sorted((r.at, r.json()["step"]) for r in receiver.requests)
    assert [step for _, step in hits] == ["h", "h_end"] * 2, hits
    assert sorted(r.json()["failed"] for r in receiver.requests if r.json()["step"] == "h") == sorted(
        r["id"] for r in runs)
