"""The spine end to end: a definition created over the API runs on the real Temporal dev server,
and its side effects land on real local receivers."""

from __future__ import annotations

import asyncio

from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver, SmtpReceiver


def definition(name: str, http_url: str, slack_url: str) -> dict:
    return {
        "name": name,
        "trigger_type": "manual",
        "workflow_blocks": [
            {"$kind": "Action", "id": "call", "type": "webhook",
             "input": {"url": f"{http_url}/deals", "method": "POST",
                       "body": {"deal": "{{deal.name}}", "value": "{{deal.value}}", "raw": "{{trigger.data}}"}}},
            {"$kind": "Block", "type": "if-else", "id": "ok",
             "inputs": {"condition": {"operatorName": "equals", "left": "{{call.output.status_code}}", "right": "200"}},
             "branches": {
                 "then": [{"$kind": "Action", "id": "mail", "type": "send_email",
                           "input": {"to": ["ceo@example.com"], "subject": "Big win: {{deal.name}}",
                                     "body": "Value {{deal.value}}, reply {{call.output.body.echo}}"}}],
                 "else": [{"$kind": "Action", "id": "tell", "type": "send_channel_message",
                           "input": {"channel": "slack", "webhook_url": slack_url, "recipient": "#sales",
                                     "message": "Call answered {{call.output.status_code}} for {{deal.name}}"}}],
             }},
        ],
    }


async def test_http_then_if_else_sends_email_or_channel_message(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as api, HttpReceiver() as slack, SmtpReceiver() as smtp, relay.http(key) as http:
        connection = await http.post("/v1/connections", json={
            "name": "mail", "type": "smtp", "default": True,
            "config": {"host": smtp.host, "port": smtp.port, "starttls": False, "from": "relay@acme.test"}})
        assert connection.status_code == 201, connection.text
        created = await http.post("/v1/workflows", json=definition("won deals", api.url, slack.url))
        assert created.status_code == 201, created.text
        workflow_id = created.json()["data"]["id"]

        api.respond(200, {"echo": "thanks"})
        started = await http.post(f"/v1/workflows/{workflow_id}/trigger",
                                  json={"entity_type": "deal", "entity_id": "d1",
                                        "data": {"name": "Acme", "value": 75000}})
        assert started.status_code == 201, started.text
        first = await wait_for_status(http, started.json()["data"]["id"], {"completed", "failed"})

        api.respond(202, {"echo": "later"})
        started = await http.post(f"/v1/workflows/{workflow_id}/trigger",
                                  json={"entity_type": "deal", "data": {"name": "Beta", "value": 10}})
        second = await wait_for_status(http, started.json()["data"]["id"], {"completed", "failed"})

    assert first["status"] == "completed", first
    assert [s["id"] for s in first["steps"]] == ["call", "ok", "mail"]  # in the order they started
    assert all(s["status"] == "completed" for s in first["steps"])
    assert [s["attempts"] for s in first["steps"] if s["type"] in ("webhook", "send_email")] == [1, 1]
    call = api.requests[0]
    assert call.method == "POST" and call.path == "/deals"
    assert call.json() == {"deal": "Acme", "value": 75000, "raw": {"name": "Acme", "value": 75000}}
    assert call.headers["idempotency-key"] == f"{first['id']}:call"
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["ceo@example.com"]
    assert mail.message["Subject"] == "Big win: Acme"
    assert mail.message.get_body(("plain",)).get_content().strip() == "Value 75000, reply thanks"
    by_id = {s["id"]: s for s in first["steps"]}
    assert by_id["ok"]["output"] == {"result": True, "branch": "then"}
    assert by_id["call"]["output"]["status_code"] == 200
    assert by_id["mail"]["output"]["message_id"] == mail.message["Message-ID"]

    assert second["status"] == "completed", second
    assert {s["id"] for s in second["steps"]} == {"call", "ok", "tell"}
    [message] = slack.requests
    assert message.json()["text"] == "Call answered 202 for Beta"
    assert message.json()["channel"] == "#sales"
    assert len(smtp.messages) == 1  # nothing more was mailed
    assert first["temporal"]["ui_url"].endswith(f"/{first['temporal']['run_id']}/history")


async def test_cancel_stops_a_run_sleeping_in_a_delay(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        created = await http.post("/v1/workflows", json={
            "name": "sleepy", "workflow_blocks": [
                {"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "1h"}},
                {"$kind": "Action", "id": "after", "type": "webhook", "input": {"url": receiver.url}}]})
        workflow_id = created.json()["data"]["id"]
        instance_id = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={})).json()["data"]["id"]
        waiting = await wait_for_status(http, instance_id, {"running"})
        for _ in range(50):
            if waiting["current_step"] == "nap":
                break
            waiting = await wait_for_status(http, instance_id, {"running"})
        assert waiting["current_step"] == "nap"

        cancelled = await http.post(f"/v1/instances/{instance_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["data"]["status"] == "cancelled"
        again = await http.post(f"/v1/instances/{instance_id}/cancel")
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "instance_not_running"
        detail = (await http.get(f"/v1/instances/{instance_id}")).json()["data"]
    assert detail["status"] == "cancelled"
    assert [(s["id"], s["status"]) for s in detail["steps"]] == [("nap", "cancelled")]
    assert receiver.requests == []


async def test_event_delivered_over_the_api_resumes_a_waiting_run(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        created = await http.post("/v1/workflows", json={
            "name": "approval", "workflow_blocks": [
                {"$kind": "Block", "type": "wait_for_event", "id": "approval",
                 "inputs": {"event": "approved", "timeout": "1h"},
                 "branches": {"received": [], "timeout": [
                     {"$kind": "Block", "type": "stop", "id": "gave_up", "inputs": {"status": "failed", "reason": "no answer"}}]}},
                {"$kind": "Action", "id": "notify", "type": "webhook",
                 "input": {"url": receiver.url, "body": {"by": "{{approval.output.approver}}", "all": "{{approval.output}}"}}}]})
        workflow_id = created.json()["data"]["id"]
        instance_id = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={})).json()["data"]["id"]
        sent = await http.post(f"/v1/instances/{instance_id}/events",
                               json={"name": "approved", "payload": {"approver": "kim", "note": "ok"}})
        assert sent.status_code == 202, sent.text
        done = await wait_for_status(http, instance_id, {"completed", "failed"})
        late = await http.post(f"/v1/instances/{instance_id}/events", json={"name": "approved"})
    assert done["status"] == "completed", done
    assert receiver.requests[0].json() == {"by": "kim", "all": {"approver": "kim", "note": "ok"}}
    assert {s["id"]: s.get("branch") for s in done["steps"]}["approval"] == "received"
    assert late.status_code == 409 and late.json()["error"]["code"] == "instance_not_running"


async def test_a_wait_times_out_and_an_early_event_is_kept_for_the_wait(relay):
    """Through the API: a wait_for_event whose timeout passes takes its timeout branch with output
    null; an event sent while the run still sleeps in a delay is kept and taken by the later wait."""
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        created = await http.post("/v1/workflows", json={
            "name": "waits", "workflow_blocks": [
                {"$kind": "Block", "type": "wait_for_event", "id": "nobody", "inputs": {"event": "never", "timeout": "1s"},
                 "branches": {"received": [], "timeout": [
                     {"$kind": "Action", "id": "nudge", "type": "webhook", "input": {"url": f"{receiver.url}/nudge"}}]}},
                {"$kind": "Block", "type": "delay", "id": "nap", "inputs": {"duration": "2s"}},
                {"$kind": "Block", "type": "wait_for_event", "id": "approval", "inputs": {"event": "approved", "timeout": "1h"}},
                {"$kind": "Action", "id": "tell", "type": "webhook",
                 "input": {"url": f"{receiver.url}/tell", "body": {"by": "{{approval.output.by}}"}}}]})
        workflow_id = created.json()["data"]["id"]
        instance_id = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={})).json()["data"]["id"]
        early = await http.post(f"/v1/instances/{instance_id}/events", json={"name": "approved", "payload": {"by": "kim"}})
        done = await wait_for_status(http, instance_id, {"completed", "failed"})
    steps = {s["id"]: s for s in done["steps"]}
    assert early.status_code == 202, early.text
    assert done["status"] == "completed", done
    assert steps["nobody"]["branch"] == "timeout" and steps["nobody"]["output"] is None
    assert steps["approval"]["branch"] == "received" and steps["approval"]["output"] == {"by": "kim"}
    assert [r.path for r in receiver.requests] == ["/nudge", "/tell"]
    assert receiver.requests[1].json() == {"by": "kim"}


async def test_cancel_during_an_action_stops_the_run_as_cancelled(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        receiver.respond(200, {"slow": True}, delay=4)
        created = await http.post("/v1/workflows", json={
            "name": "slow step", "workflow_blocks": [
                {"$kind": "Action", "id": "slow", "type": "webhook", "on_error": "continue",
                 "input": {"url": receiver.url, "body": {"step": "slow"}}},
                {"$kind": "Action", "id": "after", "type": "webhook", "input": {"url": receiver.url, "body": {"step": "after"}}}]})
        workflow_id = created.json()["data"]["id"]
        instance_id = (await http.post(f"/v1/workflows/{workflow_id}/trigger", json={})).json()["data"]["id"]
        for _ in range(100):
            if receiver.requests:
                break
            await asyncio.sleep(0.05)
        cancelled = (await http.post(f"/v1/instances/{instance_id}/cancel")).json()["data"]
        await asyncio.sleep(5)  # long enough for the slow answer and anything after it
    assert cancelled["status"] == "cancelled", cancelled
    assert {s["id"]: s["status"] for s in cancelled["steps"]} == {"slow": "cancelled"}
    assert [r.json()["step"] for r in receiver.requests] == ["slow"]
