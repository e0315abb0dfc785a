"""Seed 001 (block-graph workflows, ../shared/seeds/001_*.txt): its requests as written, through
the real API, the real Temporal dev server and real local receivers (docs/seeds.md, 001).

Only the host, the /v1 prefix, the key and receiver URLs differ from the document."""

from __future__ import annotations

import pytest

from app.services.schedules import schedule_id
from tests.conftest import wait_for_status
from tests.receivers import HttpReceiver
from workflows.seeds import SEED_001_TRIGGER_TYPES

# What SPEC §2.1 maps each of the document's 25 trigger_type names to.
EXPECTED = {
    "manual-trigger": ("manual", {}), "ai-trigger": ("manual", {}), "manual-ticket-trigger": ("manual", {}),
    "cron-trigger": ("schedule", {"cron": "0 9 * * MON-FRI"}),
    "webhook": ("webhook", {}), "form-trigger": ("webhook", {}),
    "contact-created": ("event", {"event": "contact.created"}),
    "phone-call-started": ("event", {"event": "phone_call.started"}),
    "phone-call-finished": ("event", {"event": "phone_call.finished"}),
    "ticket-created": ("event", {"event": "ticket.created"}),
    "ticket-reassigned": ("event", {"event": "ticket.reassigned"}),
    "ticket-resolved": ("event", {"event": "ticket.resolved"}),
    "ticket-handoff": ("event", {"event": "ticket.handoff"}),
    "pre-ticket-handoff": ("event", {"event": "pre_ticket.handoff"}),
    "ticket-tag-added": ("event", {"event": "ticket_tag.added"}),
    "ticket-inactive": ("event", {"event": "ticket.inactive"}),
    "sequence-completed": ("event", {"event": "sequence.completed"}),
    "csat-score-submit": ("event", {"event": "csat_score.submit"}),
    "prohibited-topic-detected": ("event", {"event": "prohibited_topic.detected"}),
    "sla-first-reply-breached": ("event", {"event": "sla_first_reply.breached"}),
    "sla-next-reply-breached": ("event", {"event": "sla_next_reply.breached"}),
    "sla-resolution-breached": ("event", {"event": "sla_resolution.breached"}),
    "voice-call-transferred": ("event", {"event": "voice_call.transferred"}),
    "pre-voice-call-transfer": ("event", {"event": "pre_voice_call.transfer"}),
    "pre-phone-call-finished": ("event", {"event": "pre_phone_call.finished"}),
}
# The fields the document's response lists (its clients read them).
RESPONSE_FIELDS = ("id", "workflow_id", "is_active", "name", "description", "trigger_type", "version_number", "created_at", "updated_at",
                   "workflow_blocks", "trigger_configuration", "trigger_constraints", "webhook_url")


def test_the_list_is_the_documents_list():
    assert len(SEED_001_TRIGGER_TYPES) == 25 == len(EXPECTED) and set(SEED_001_TRIGGER_TYPES) == set(EXPECTED)


@pytest.mark.parametrize("trigger_type", SEED_001_TRIGGER_TYPES)
async def test_every_trigger_type_of_the_document_is_accepted_and_mapped(relay, trigger_type):
    _, key = await relay.tenant()
    configuration = "0 9 * * MON-FRI" if trigger_type == "cron-trigger" else None  # a bare cron string
    async with relay.http(key) as http:
        created = await http.post("/v1/workflows", json={
            "name": f"on {trigger_type}", "trigger_type": trigger_type, "workflow_blocks": [],
            "description": "seed 001", "trigger_configuration": configuration, "trigger_constraints": None,
            "workflow_editor_state": None})
        assert created.status_code == 201, created.text
        workflow = created.json()["data"]
        if trigger_type == "cron-trigger":
            assert (await http.delete(f"/v1/workflows/{workflow['id']}")).status_code in (200, 204)
    assert (workflow["trigger_type"], workflow["trigger_configuration"]) == EXPECTED[trigger_type]
    assert workflow["trigger_constraints"] is None
    assert (workflow["webhook_url"] is not None) == (EXPECTED[trigger_type][0] == "webhook")
    assert all(field in workflow for field in RESPONSE_FIELDS)


async def test_a_cron_trigger_with_a_cron_object_makes_its_temporal_schedule(relay):
    tenant_id, key = await relay.tenant()
    async with relay.http(key) as http:
        created = await http.post("/v1/workflows", json={
            "name": "weekday digest", "trigger_type": "cron-trigger",
            "trigger_configuration": {"cron": "0 9 * * MON-FRI"}, "trigger_constraints": None, "workflow_blocks": []})
        assert created.status_code == 201, created.text
        workflow = created.json()["data"]
        described = await relay.client.get_schedule_handle(schedule_id(tenant_id, workflow["id"])).describe()
        await http.delete(f"/v1/workflows/{workflow['id']}")
    assert workflow["trigger_type"] == "schedule"
    [calendar] = described.schedule.spec.calendars  # Temporal keeps a cron as its calendar
    assert [r.start for r in calendar.hour] == [9] and [(r.start, r.end) for r in calendar.day_of_week] == [(1, 5)]


def blocks(receiver_url: str) -> list[dict]:
    """The document's block shapes: an Action, then an if-else on {{step_id.output.field}}."""
    return [
        {"$kind": "Action", "id": "lookup", "type": "webhook", "name": "Look the customer up",
         "input": {"url": f"{receiver_url}/lookup", "body": {"ticket": "{{trigger.data.id}}"}}},
        {"$kind": "Block", "type": "if-else", "id": "is_vip",
         "inputs": {"condition": {"operatorName": "equals", "left": "{{lookup.output.body.tier}}", "right": "vip"}},
         "branches": {
             "then": [{"$kind": "Action", "id": "page", "type": "send_channel_message", "name": "Page the team",
                       "input": {"channel": "slack", "webhook_url": f"{receiver_url}/slack", "recipient": "#vip",
                                 "message": "VIP ticket {{ticket.subject}} ({{lookup.output.body.tier}})"}}],
             "else": [{"$kind": "Action", "id": "log", "type": "webhook", "name": "Log it",
                       "input": {"url": f"{receiver_url}/log", "body": {"subject": "{{ticket.subject}}"}}}]}},
    ]


async def test_an_event_named_trigger_with_constraints_runs_the_block_graph(relay):
    """ticket-created → an event trigger on ticket.created; trigger_constraints (JSON Logic) decide."""
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        receiver.respond(200, body={"tier": "vip"})
        created = await http.post("/v1/workflows", json={
            "name": "VIP tickets", "trigger_type": "ticket-created", "workflow_blocks": blocks(receiver.url),
            "description": "page the team on VIP tickets", "trigger_configuration": None,
            "trigger_constraints": {"==": [{"var": "ticket.priority"}, "high"]},
            "workflow_editor_state": {"nodes": [], "edges": [], "viewport": {"x": 0, "y": 0, "zoom": 1}}})
        assert created.status_code == 201, created.text
        workflow = created.json()["data"]
        low = await http.post("/v1/events", json={"type": "ticket.created", "entity": "ticket", "entity_id": "T-1",
                                                   "data": {"id": "T-1", "subject": "Printer", "priority": "low"}})
        high = await http.post("/v1/events", json={"type": "ticket.created", "entity": "ticket", "entity_id": "T-2",
                                                    "data": {"id": "T-2", "subject": "Outage", "priority": "high"}})
        [instance_id] = high.json()["data"]["instances"]
        run = await wait_for_status(http, instance_id, {"completed", "failed"})
        edited = await http.patch(f"/v1/workflows/{workflow['id']}", json={
            "trigger_type": "ticket-created", "trigger_configuration": None, "workflow_blocks": []})
        draft = await http.patch(f"/v1/workflows/{workflow['id']}", json={"workflow_blocks": [], "publish": False})
        versions = (await http.get(f"/v1/workflows/{workflow['id']}/versions")).json()["data"]
    assert (workflow["trigger_type"], workflow["trigger_configuration"]) == ("event", {"event": "ticket.created"})
    assert workflow["trigger_constraints"] == {"==": [{"var": "ticket.priority"}, "high"]}
    assert workflow["version_number"] == 1 and workflow["webhook_url"] is None
    assert workflow["description"] == "page the team on VIP tickets" and workflow["is_active"] is True
    assert workflow["workflow_id"] == workflow["id"]
    assert [b["id"] for b in workflow["workflow_blocks"]] == ["lookup", "is_vip"]
    assert low.json()["data"]["matched"] == [] and high.json()["data"]["matched"] == [workflow["id"]]
    assert run["status"] == "completed"
    assert [r.path for r in receiver.requests] == ["/lookup", "/slack"]
    assert receiver.requests[0].json() == {"ticket": "T-2"}
    assert receiver.requests[1].json()["text"] == "VIP ticket Outage (vip)"
    assert edited.status_code == 200, edited.text
    assert edited.json()["data"]["version_number"] == 2  # "increments with each edit"
    assert draft.json()["data"]["version_number"] == 2 and draft.json()["data"]["is_active"] is True
    assert versions[-1]["version_number"] == 3


async def test_a_manual_trigger_runs_on_demand_and_takes_the_else_branch(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        receiver.respond(200, body={"tier": "standard"})
        created = await http.post("/v1/workflows", json={
            "name": "On demand", "trigger_type": "manual-trigger", "workflow_blocks": blocks(receiver.url),
            "trigger_configuration": None, "trigger_constraints": None})
        assert created.status_code == 201, created.text
        workflow = created.json()["data"]
        started = await http.post(f"/v1/workflows/{workflow['id']}/trigger",
                                  json={"entity_type": "ticket", "entity_id": "T-3",
                                        "data": {"id": "T-3", "subject": "Invoice"}})
        assert started.status_code == 201, started.text
        run = await wait_for_status(http, started.json()["data"]["id"], {"completed", "failed"})
    assert workflow["trigger_type"] == "manual" and workflow["trigger_configuration"] == {}
    assert run["status"] == "completed"
    assert [r.path for r in receiver.requests] == ["/lookup", "/log"]
    assert receiver.requests[1].json() == {"subject": "Invoice"}


async def test_a_webhook_trigger_answers_its_webhook_url_and_a_post_to_it_runs(relay):
    _, key = await relay.tenant()
    async with HttpReceiver() as receiver, relay.http(key) as http:
        created = await http.post("/v1/workflows", json={
            "name": "Inbound form", "trigger_type": "form-trigger", "trigger_configuration": None,
            "trigger_constraints": None, "workflow_blocks": [
                {"$kind": "Action", "id": "forward", "type": "webhook", "name": "Forward",
                 "input": {"url": receiver.url, "body": {"email": "{{trigger.data.email}}"}}}]})
        assert created.status_code == 201, created.text
        workflow = created.json()["data"]
        hooked = await http.post(workflow["webhook_url"], json={"email": "ada@example.com"})
        assert hooked.status_code == 202, hooked.text
        run = await wait_for_status(http, hooked.json()["data"]["instance_id"], {"completed", "failed"})
    assert workflow["trigger_type"] == "webhook" and workflow["webhook_url"].startswith(relay.url + "/v1/hooks/")
    assert run["status"] == "completed"
    assert receiver.requests[0].json() == {"email": "ada@example.com"}


async def test_an_unknown_trigger_type_is_refused_naming_it(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        refused = await http.post("/v1/workflows", json={"name": "x", "trigger_type": "Ticket Created",
                                                         "workflow_blocks": []})
        wrong_event = await http.post("/v1/workflows", json={
            "name": "y", "trigger_type": "ticket-created", "trigger_configuration": {"event": "deal.updated"},
            "workflow_blocks": []})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "validation_error"
    [detail] = refused.json()["error"]["details"]
    assert detail["path"] == "trigger_type" and "'Ticket Created'" in detail["message"]
    assert wrong_event.status_code == 400
    assert wrong_event.json()["error"]["details"] == [{"path": "trigger_configuration.event", "message":
                                                       "a ticket-created trigger listens to 'ticket.created', "
                                                       "not 'deal.updated'"}]


async def test_a_bad_bare_cron_string_is_named_where_it_was_written(relay):
    _, key = await relay.tenant()
    async with relay.http(key) as http:
        refused = await http.post("/v1/workflows", json={"name": "bad cron", "trigger_type": "cron-trigger",
                                                         "trigger_configuration": "every day", "workflow_blocks": []})
    [detail] = refused.json()["error"]["details"]
    assert refused.status_code == 400 and detail["path"] == "trigger_configuration" and "'every day'" in detail["message"]
