"""create_task / update_field reach the documented example connector, which verifies their signature."""

from __future__ import annotations

import importlib.util
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers.runs import wait_for_status

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "connector_receiver.py"


@pytest.fixture
def example_connector(monkeypatch):
    monkeypatch.setenv("RELAY_CONNECTOR_SECRET", "s3cret-signing")
    spec = importlib.util.spec_from_file_location("connector_receiver", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seen: list[int] = []

    class Recording(module.Connector):
        def send_response(self, code, message=None):
            seen.append(code)
            super().send_response(code, message)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recording)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


async def test_connector_actions_are_signed_and_verified_by_the_example(relay, example_connector):
    url, seen = example_connector
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        for name, secret, default in (("crm", "s3cret-signing", True), ("wrong", "not-the-secret", False)):
            created = await http.post("/v1/connections", json={"name": name, "type": "connector", "default": default,
                                                                "config": {"url": url}, "secrets": {"signing_secret": secret}})
            assert created.status_code == 201, created.text
        workflow = (await http.post("/v1/workflows", json={"name": "crm work", "workflow_blocks": [
            {"$kind": "Action", "id": "follow_up", "type": "create_task",
             "input": {"title": "Call {{deal.name}}", "assignee": "kim@example.com", "due_in": "3d",
                       "entity": "deal", "entity_id": "{{trigger.entity_id}}", "priority": "high"}},
            {"$kind": "Action", "id": "mark", "type": "update_field",
             "input": {"entity": "deal", "entity_id": "42", "field": "stage", "value": "{{follow_up.output.id}}"}},
            {"$kind": "Action", "id": "forged", "type": "update_field", "on_error": "continue",
             "input": {"entity": "deal", "entity_id": "42", "field": "x", "value": 1, "connection": "wrong"}},
        ]})).json()["data"]
        started = await http.post(f"/v1/workflows/{workflow['id']}/trigger",
                                  json={"entity_type": "deal", "entity_id": "42", "data": {"name": "Acme"}})
        done = await wait_for_status(http, started.json()["data"]["id"], {"completed", "failed"})
    steps = {s["id"]: s for s in done["steps"]}
    assert done["status"] == "completed", done
    assert steps["follow_up"]["output"] == {"ok": True, "action": "create_task", "id": "follow_up"}
    assert steps["mark"]["output"] == {"ok": True, "action": "update_field", "id": "mark"}
    assert steps["forged"]["status"] == "failed" and "401" in steps["forged"]["error"]
    assert steps["forged"]["attempts"] == 1  # a 4xx is not retried
    assert seen == [200, 200, 401]
