"""Connections created over the API are what the worker's activities use, and a secret's value
reaches the outside system without ever entering Temporal history or an API response."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from typing import Any

from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver, SmtpReceiver

TOKEN = "tok-3f9a0c7e-bearer-never-in-history"
API_TOKEN = "sk_live_51Hx-secret-value-never-in-history"


async def run(http, definition: dict[str, Any], data: dict[str, Any] | None = None) -> dict[str, Any]:
    created = await http.post("/v1/workflows", json=definition)
    assert created.status_code == 201, created.text
    started = await http.post(f"/v1/workflows/{created.json()['data']['id']}/trigger", json={"data": data or {}})
    assert started.status_code == 201, started.text
    return await wait_for_status(http, started.json()["data"]["id"], {"completed", "failed"})


async def history_text(relay, instance: dict[str, Any]) -> str:
    """The run's whole Temporal history as JSON, plus every base64 payload in it decoded."""
    history = await relay.client.get_workflow_handle(instance["temporal"]["workflow_id"]).fetch_history()
    raw = history.to_json()
    decoded: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            with contextlib.suppress(binascii.Error, ValueError):
                decoded.append(base64.b64decode(value, validate=True).decode("utf-8", errors="replace"))

    walk(json.loads(raw))
    return raw + "\n" + "\n".join(decoded)


async def test_the_default_smtp_connection_sends_email(relay):
    _, key = await relay.tenant()
    async with SmtpReceiver() as smtp, relay.http(key) as http:
        connection = await http.post("/v1/connections", json={
            "name": "mailer", "type": "smtp", "default": True,
            "config": {"host": smtp.host, "port": smtp.port, "starttls": False, "from": "robot@acme.test"}})
        assert connection.status_code == 201, connection.text
        done = await run(http, {"name": "mail", "workflow_blocks": [
            {"$kind": "Action", "id": "mail", "type": "send_email",
             "input": {"to": ["kim@example.com"], "subject": "Hi {{trigger.data.who}}", "body": "hello"}}]},
            {"who": "Kim"})
    assert done["status"] == "completed", done
    [mail] = smtp.messages
    assert mail.rcpt_tos == ["kim@example.com"]
    assert mail.message["Subject"] == "Hi Kim"
    assert mail.message["From"] == "robot@acme.test"


async def test_a_webhook_naming_an_http_connection_sends_its_bearer_token(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        connection = await http.post("/v1/connections", json={
            "name": "crm-api", "type": "http", "secrets": {"bearer_token": TOKEN}})
        assert connection.status_code == 201, connection.text
        done = await run(http, {"name": "call crm", "workflow_blocks": [
            {"$kind": "Action", "id": "call", "type": "webhook",
             "input": {"connection": "crm-api", "url": f"{receiver.url}/deals", "body": {"id": "{{trigger.data.id}}"}}}]},
            {"id": "d-1"})
        instance = await http.get(f"/v1/instances/{done['id']}")
    assert done["status"] == "completed", done
    [request] = receiver.requests
    assert request.path == "/deals" and request.json() == {"id": "d-1"}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in await history_text(relay, done)
    assert TOKEN not in instance.text


async def test_a_secret_reaches_the_receiver_but_not_history_or_the_api(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        secret = await http.post("/v1/connections", json={
            "name": "API_TOKEN", "type": "secret", "secrets": {"value": API_TOKEN}})
        assert secret.status_code == 201, secret.text
        done = await run(http, {"name": "use a secret", "workflow_blocks": [
            {"$kind": "Action", "id": "send", "type": "webhook",
             "input": {"url": f"{receiver.url}/in", "headers": {"X-Api-Key": "{{secrets.API_TOKEN}}"},
                       "body": {"token": "{{secrets.API_TOKEN}}", "note": "key={{secrets.API_TOKEN}}"}}}]})
        instance = await http.get(f"/v1/instances/{done['id']}")
        steps = await http.get(f"/v1/instances/{done['id']}/history")
        listed = await http.get("/v1/connections")
    assert done["status"] == "completed", done
    [request] = receiver.requests
    assert request.json() == {"token": API_TOKEN, "note": f"key={API_TOKEN}"}
    assert request.headers["x-api-key"] == API_TOKEN
    history = await history_text(relay, done)
    assert f"{receiver.url}/in" in history  # the step's input is in history (decoded) ...
    assert API_TOKEN not in history  # ... but the secret's value is not
    for response in (instance, steps, listed):
        assert API_TOKEN not in response.text


async def test_an_undefined_secret_fails_the_step_without_retrying(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        done = await run(http, {"name": "missing secret", "workflow_blocks": [
            {"$kind": "Action", "id": "send", "type": "webhook",
             "input": {"url": receiver.url, "body": {"token": "{{secrets.NOPE}}"}}}]})
    assert done["status"] == "failed"
    [step] = done["steps"]
    assert step["attempts"] == 1 and "NOPE" in json.dumps(step["error"])
    assert receiver.requests == []
