"""approval blocks (SPEC §2.4) through the API, the real Temporal dev server and a local receiver:
by link (GET shows and decides nothing, POST decides), by API, a second decision 410, the timeout
branch, validation; and the tokens found nowhere but where a template put them (logs, Temporal
history, API answers)."""

from __future__ import annotations

import asyncio

import httpx

from app import views
from tests.helpers.histories import tenant_histories
from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver

HTML = {"Accept": "text/html"}


def approval(block_id: str = "ok", **inputs) -> dict:
    return {"$kind": "Block", "type": "approval", "id": block_id, "inputs": {"message": "Go?", **inputs}}


def hook(block_id: str, url: str, body: dict) -> dict:
    return {"$kind": "Action", "type": "webhook", "id": block_id, "input": {"url": url, "body": body}}


async def start(http, blocks: list, data: dict | None = None) -> str:
    created = await http.post("/v1/workflows", json={"name": "approve", "max_triggers_per_day": None,
                                                     "workflow_blocks": blocks})
    assert created.status_code == 201, created.text
    started = await http.post(f"/v1/workflows/{created.json()['data']['id']}/trigger", json={"data": data or {}})
    assert started.status_code == 201, started.text
    return started.json()["data"]["id"]


async def step_of(http, instance_id: str, step_id: str, status: str) -> dict:
    for _ in range(150):
        steps = {s["id"]: s for s in (await http.get(f"/v1/instances/{instance_id}")).json()["data"]["steps"]}
        if steps.get(step_id, {}).get("status") == status:
            return steps[step_id]
        await asyncio.sleep(0.1)
    raise AssertionError(f"step {step_id} never {status}: {steps}")


def links_sent(receiver: HttpReceiver) -> dict:
    return next(r for r in receiver.requests if r.path == "/mail").json()


async def test_approval_by_link_and_tokens_nowhere_else(loud_relay, receiver, captured_logs):
    relay = loud_relay
    tenant, key = await relay.tenant()
    async with relay.http(key) as http, httpx.AsyncClient(timeout=30) as browser:
        instance_id = await start(http, [
            hook("mail", f"{receiver.url}/mail", {"approve": "{{approvals.ok.approve_url}}",
                                                  "reject": "{{approvals.ok.reject_url}}"}),
            {**approval(message="Refund {{trigger.data.amount}} to {{trigger.data.who}}?"), "branches": {
                "approved": [hook("done", f"{receiver.url}/approved", {"by": "{{ok.output.by}}"})]}}],
            {"amount": 40, "who": "<script>alert(1)</script>"})
        await step_of(http, instance_id, "ok", "waiting")
        links = links_sent(receiver)
        approve, reject = links["approve"], links["reject"]
        assert approve.startswith(f"{relay.url}/v1/approvals/") and reject.startswith(f"{relay.url}/v1/approvals/")
        assert approve != reject
        for _ in range(2):  # opening the link (a mail scanner, a preview) decides nothing
            page = await browser.get(approve, headers=HTML)
            assert page.status_code == 200, page.text
            assert "Refund 40 to &lt;script&gt;alert(1)&lt;/script&gt;?" in page.text and "<script>" not in page.text
            assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
            assert "<form method=post>" in page.text
        assert (await step_of(http, instance_id, "ok", "waiting"))["output"] is None
        shown = (await http.get(f"/v1/instances/{instance_id}")).json()["data"]["approvals"]
        assert shown == {"ok": {"message": "Refund 40 to <script>alert(1)</script>?", "decision": None, "by": None,
                                "comment": None, "decided_at": None}}
        tampered = approve[:-3] + ("AAA" if not approve.endswith("AAA") else "BBB")
        assert (await browser.get(tampered)).status_code == 404
        decided = await browser.post(approve, data={"by": "Ann", "comment": "fine"}, headers=HTML)
        assert decided.status_code == 200 and "Recorded: approved" in decided.text
        done = await wait_for_status(http, instance_id, {"completed", "failed"})
        step = next(s for s in done["steps"] if s["id"] == "ok")
        assert step["branch"] == "approved" and step["output"]["decision"] == "approved"
        assert step["output"]["by"] == "Ann" and step["output"]["comment"] == "fine" and step["output"]["decided_at"]
        assert next(r for r in receiver.requests if r.path == "/approved").json() == {"by": "Ann"}
        again = await browser.post(reject, data={"by": "Eve"})
        assert again.status_code == 410 and again.json()["error"]["code"] == "gone"
        assert (await browser.get(approve, headers=HTML)).status_code == 410

        tokens = [link.rsplit("/", 1)[1] for link in (approve, reject)]
        answers = [(await http.get(path)).text for path in (
            f"/v1/instances/{instance_id}", f"/v1/instances/{instance_id}/history", "/v1/instances")]
        histories = await tenant_histories(relay, tenant)
        assert captured_logs.lines and any("approval:" in text for text in histories.values())  # the placeholders
        for token in tokens:
            assert not any(token in line for line in captured_logs.lines), "a token was logged"
            assert not any(token in text for text in answers), "a token was in an API answer"
            assert not any(token in text for text in histories.values()), "a token was in Temporal history"


async def test_approval_by_api_first_decision_wins(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        instance_id = await start(http, [{**approval(), "branches": {"rejected": [
            {"$kind": "Block", "type": "delay", "id": "hold", "inputs": {"duration": "1h"}}]}}])
        url = f"/v1/instances/{instance_id}/approvals/ok"
        assert (await http.post(url, json={"decision": "maybe"})).status_code == 400
        assert (await http.post(f"/v1/instances/{instance_id}/approvals/nope", json={"decision": "approved"})
                ).status_code == 404
        first = await http.post(url, json={"decision": "rejected", "by": "bob", "comment": "too much"})
        assert first.status_code == 200, first.text
        assert first.json()["data"]["decision"] == "rejected" and first.json()["data"]["by"] == "bob"
        views.one(views.ApprovalView).model_validate(first.json())  # what /openapi.json declares
        second = await http.post(url, json={"decision": "approved", "by": "eve"})
        assert second.status_code == 410 and second.json()["error"]["code"] == "gone"
        await step_of(http, instance_id, "hold", "waiting")  # the rejected branch runs
        step = await step_of(http, instance_id, "ok", "running")
        assert step["branch"] == "rejected" and step["output"]["by"] == "bob"
        assert (await http.post(f"/v1/instances/{instance_id}/cancel")).status_code == 200
        ended = await http.post(url, json={"decision": "approved"})
        assert ended.status_code == 409 and ended.json()["error"]["code"] == "instance_not_running"


async def test_timeout_branch_and_links_gone_after_it(relay, receiver):
    _, key = await relay.tenant()
    async with relay.http(key) as http, httpx.AsyncClient(timeout=30) as browser:
        instance_id = await start(http, [
            hook("mail", f"{receiver.url}/mail", {"approve": "{{approvals.ok.approve_url}}"}),
            {**approval(timeout="1s"), "branches": {"timeout": [
                {"$kind": "Block", "type": "delay", "id": "hold", "inputs": {"duration": "1h"}}]}}])
        await step_of(http, instance_id, "hold", "waiting")  # the timeout branch runs
        step = await step_of(http, instance_id, "ok", "running")
        assert step["branch"] == "timeout" and step["output"]["decision"] == "timeout"
        late = await browser.post(links_sent(receiver)["approve"], data={"by": "late"})
        assert late.status_code == 410, late.text
        by_api = await http.post(f"/v1/instances/{instance_id}/approvals/ok", json={"decision": "approved"})
        assert by_api.status_code == 410
        await http.post(f"/v1/instances/{instance_id}/cancel")


async def test_approval_validation_names_the_path(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        response = await http.post("/v1/workflows", json={"name": "bad", "workflow_blocks": [
            hook("mail", "http://127.0.0.1:9/x", {"a": "{{approvals.nope.approve_url}}",
                                                  "b": "{{approvals.ok.token}}"}),
            approval(timeout="soon", message="{{approvals.ok.approve_url}}"),
            {"$kind": "Block", "type": "for_each", "id": "loop", "inputs": {"items": [1]},
             "branches": {"do": [approval("inner")]}}]})
        assert response.status_code == 400, response.text
        assert {d["path"] for d in response.json()["error"]["details"]} == {
            "workflow_blocks.0.input.body.a", "workflow_blocks.0.input.body.b", "workflow_blocks.1.inputs.timeout",
            "workflow_blocks.1.inputs.message",
            "workflow_blocks.2.branches.do.0"}
        for inputs, path in (({"timeout": 5}, "inputs.timeout"), ({"message": ["x"]}, "inputs.message"),
                             ({"extra": 1}, "inputs.extra")):
            response = await http.post("/v1/workflows", json={"name": "bad", "workflow_blocks": [
                {"$kind": "Block", "type": "approval", "id": "a", "inputs": inputs}]})
            assert response.status_code == 400, response.text
            assert [d["path"] for d in response.json()["error"]["details"]] == [f"workflow_blocks.0.{path}"]


async def test_a_dry_run_shows_the_links_as_written_not_the_run_marker(relay, receiver):
    """A dry run's would_send carried `⟦approval:<run nonce>:ok:approved⟧` (the run's internal marker)."""
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        created = await http.post("/v1/workflows", json={"name": "dry approve", "workflow_blocks": [
            hook("mail", f"{receiver.url}/mail", {"yes": "{{approvals.ok.approve_url}}",
                                                  "no": "Or: {{approvals.ok.reject_url}}"}),
            approval()]})
        assert created.status_code == 201, created.text
        trace = await http.post(f"/v1/workflows/{created.json()['data']['id']}/test",
                                json={"mocks": {"ok": {"decision": "approved"}}})
    assert trace.status_code == 200, trace.text
    mail = next(s for s in trace.json()["data"]["steps"] if s["id"] == "mail")
    assert mail["output"]["would_send"]["body"] == {"yes": "{{approvals.ok.approve_url}}",
                                                    "no": "Or: {{approvals.ok.reject_url}}"}
    assert receiver.requests == []
