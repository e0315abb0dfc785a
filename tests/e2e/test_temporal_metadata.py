"""Temporal's user metadata on Relay's runs (what the Temporal UI shows): the run's static summary
names the workflow and its version; each step's activity carries the step's name (or its id)."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from tests.helpers.runs import wait_for_status
from tests.receivers import HttpReceiver


async def test_a_run_and_its_steps_carry_their_names_in_temporal(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        receiver.respond(200, {"ok": 1})
        receiver.respond(200, {"ok": 2})
        created = (await http.post("/v1/workflows", json={"name": "Invoice reminder", "workflow_blocks": [
            {"$kind": "Action", "id": "notify", "name": "Tell the CRM", "type": "webhook", "timeout": "2s",
             "input": {"url": receiver.url}},  # short: a local activity
            {"$kind": "Action", "id": "archive", "type": "webhook", "timeout": "30s",
             "input": {"url": receiver.url}},  # a regular activity, unnamed
        ]})).json()["data"]
        started = (await http.post(f"/v1/workflows/{created['id']}/trigger", json={})).json()["data"]
        done = await wait_for_status(http, started["id"], {"completed", "failed"})
    handle = relay.client.get_workflow_handle(started["temporal"]["workflow_id"])
    summary = await (await handle.describe()).static_summary()
    converter = relay.client.data_converter.payload_converter
    # every event with a summary in its user metadata, in order (a patch's marker has none)
    summaries = [(EventType.Name(event.event_type), converter.from_payload(event.user_metadata.summary, str))
                 async for event in handle.fetch_history_events() if event.user_metadata.HasField("summary")]

    assert done["status"] == "completed", done
    expected = f"Relay workflow 'Invoice reminder' ({created['id']}), version 1"
    assert summary == expected
    assert summaries == [("EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", expected),
                         ("EVENT_TYPE_MARKER_RECORDED", "Tell the CRM"),  # the local activity's marker
                         ("EVENT_TYPE_ACTIVITY_TASK_SCHEDULED", "archive")]
