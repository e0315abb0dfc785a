"""Each failure class of an action ends with the right retries and the right step error (real receivers)."""

from __future__ import annotations

from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver, SmtpReceiver

RETRY = {"max_attempts": 3, "initial_interval": "100ms", "backoff": 1.0, "max_interval": "100ms"}


async def run_one(relay, key: str, action: dict) -> dict:
    async with relay.http(key) as http:
        workflow = (await http.post("/v1/workflows", json={"name": f"a-{action['id']}", "workflow_blocks": [
            {"$kind": "Action", "retry": RETRY, **action}]})).json()
        assert "data" in workflow, workflow
        started = await http.post(f"/v1/workflows/{workflow['data']['id']}/trigger", json={})
        return await wait_for_status(http, started.json()["data"]["id"], {"completed", "failed"})


async def test_a_slow_receiver_times_the_attempt_out_and_is_retried(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver:
        for _ in range(3):
            receiver.respond(200, {"late": True}, delay=3)
        done = await run_one(relay, key, {"id": "slow", "type": "webhook", "timeout": "1s",
                                          "input": {"url": receiver.url}})
    assert done["status"] == "failed", done
    [step] = done["steps"]
    assert step["attempts"] == 3
    assert "timed out" in step["error"].lower() or "timeout" in step["error"].lower()
    assert len({r.headers["idempotency-key"] for r in receiver.requests}) == 1


async def test_slack_ok_false_fails_without_retry(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as slack, relay.http(key) as http:
        await http.post("/v1/connections", json={"name": "bot", "type": "slack", "default": True,
                                                  "config": {"api_url": slack.url}, "secrets": {"bot_token": "xoxb-1"}})
        slack.respond(200, {"ok": False, "error": "channel_not_found"})
        done = await run_one(relay, key, {"id": "post", "type": "send_channel_message",
                                          "input": {"channel": "slack", "recipient": "#nope", "message": "hi"}})
    [step] = done["steps"]
    assert done["status"] == "failed" and step["attempts"] == 1
    assert "channel_not_found" in step["error"] and step["error_type"] == "SlackError"
    [call] = slack.requests
    assert call.path == "/chat.postMessage" and call.headers["authorization"] == "Bearer xoxb-1"


async def test_smtp_refusal_fails_and_temporary_refusal_is_retried(relay):
    _, key = await relay.tenant()
    async with SmtpReceiver() as smtp, relay.http(key) as http:
        await http.post("/v1/connections", json={"name": "mail", "type": "smtp", "default": True,
                                                  "config": {"host": smtp.host, "port": smtp.port}})
        smtp.refuse(550)
        refused = await run_one(relay, key, {"id": "mail_bad", "type": "send_email",
                                             "input": {"to": ["a@example.com"], "subject": "s", "body": "b"}})
        smtp.refuse(451)
        async with relay.http(key) as again:
            workflow = (await again.post("/v1/workflows", json={"name": "later", "workflow_blocks": [
                {"$kind": "Action", "id": "mail_later", "type": "send_email",
                 "retry": {"max_attempts": 10, "initial_interval": "300ms", "backoff": 1.0, "max_interval": "300ms"},
                 "input": {"to": ["a@example.com"], "subject": "s", "body": "b"}}]})).json()["data"]
            instance = (await again.post(f"/v1/workflows/{workflow['id']}/trigger", json={})).json()["data"]
            import asyncio
            await asyncio.sleep(1)
            smtp.accept()
            later = await wait_for_status(again, instance["id"], {"completed", "failed"})
    [step] = refused["steps"]
    assert refused["status"] == "failed" and step["attempts"] == 1 and step["error_type"] == "SmtpRefused"
    assert later["status"] == "completed" and later["steps"][0]["attempts"] >= 2
    assert len(smtp.messages) == 1
